"""The two errors `rules` raises to its callers."""

from __future__ import annotations

from schemas.problems import FieldError


class InputError(ValueError):
    """Bad facts or `as_of`: `errors` names every offending field (JSON Pointers)."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        summary = "; ".join(f"{e.pointer}: {e.message}" for e in self.errors)
        super().__init__(f"invalid input: {summary}")


class UnknownPolicy(LookupError):
    """No policy (or no stored ruleset format) by that name."""
