"""The two errors `rules` raises to its callers."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.problems import FieldError


class InputError(ValueError):
    """Bad facts or `as_of`: `errors` names every offending field (JSON Pointers)."""

    def __init__(self, errors: list[FieldError], unnamed: Sequence[str] = ()) -> None:
        """`unnamed`: the pointers of the facts (or members of one) whose names the policy's
        schema does not name, which CONTRACT.md refuses as it refuses any such body field (400,
        not 422)."""
        self.errors = list(errors)
        self.unnamed = list(unnamed)
        summary = "; ".join(f"{e.pointer}: {e.message}" for e in self.errors)
        super().__init__(f"invalid input: {summary}")


class UnknownPolicy(LookupError):
    """No policy (or no stored ruleset format) by that name."""
