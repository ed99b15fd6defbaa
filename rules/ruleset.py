"""Running a ruleset document: validate, derive, match on the engine, apply the conclusions.

A ruleset document (format `redress.ruleset/2`; `/1` documents still run, see below) is plain
JSON data and self-sufficient:

    {"format", "id", "title", "seed", "calendar", "timezone",
     "facts": "<policy>.facts/N",    # fact Struct + cross-field checks (rules.registry)
     "derive": "<policy>.derive/N",  # facts -> flat message of booleans/strings/ints
     "rules": [{"id", "citation", "description",
                "when": <durable_rules condition on the message>,
                "exclusive"?: true, "keeps"?: [rule ids],
                "then": <conclusions>}]}

Format 2 adds `"deadlines": {name: kind}` (kind `obligation`, `window` or `opens`, fixed per
name), the `acts` fact (keys: the obligation names; checked generically here) and the conclusion
`"closes": true` (turns `accept` into `close`, POLICIES.md item 11). A format-2 decision's
deadlines carry `kind`, `status` and `done_at` (POLICIES.md, "Deadlines, obligations and acts");
a format-1 decision's do not, so a decision recorded under a `/1` document replays byte for byte.

Conclusions: `disposition`, `stage`, `route` ({role, assignee} or null), `notify`, `deadlines`
([{name, due, ends_when?}]), `actions` ([{code, detail}]), `flags`, `eligibility`, and `choose`
({if, then, else}). A value is a literal, `{"$": name}` (a derived value) or
`{"$map": name, "table": {...}}`; a due is `{"working_days_after"|"days_after"|"hours_after":
name, "n": N}`. Precedence is POLICIES.md's: rule order, later wins; the last exclusive rule that
fires discards all other rules but those it keeps.

The version of a document is `sha256:` + hex SHA-256 of its RFC 8785 form, so any change to any
rule (or to a named derivation's version) gives a new version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import msgspec
import rfc8785

from rules import calendar, engine
from rules.errors import UnknownPolicy
from rules.registry import derivation, fact_schema
from rules.validation import Moment, validate_facts
from schemas.decision import Action, Deadline, Decision, Outcome, Reason, Route

FORMAT = "redress.ruleset/2"
FORMAT_1 = "redress.ruleset/1"
FORMATS = (FORMAT_1, FORMAT)


def document_version(document: Mapping) -> str:
    """`sha256:` + hex digest of the document's canonical (RFC 8785) bytes."""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def check_document(document: object) -> None:
    """UnknownPolicy when `document` is not a ruleset this code can run."""
    if not isinstance(document, Mapping) or document.get("format") not in FORMATS:
        raise UnknownPolicy(f"not a ruleset document of format {' or '.join(FORMATS)}")
    try:
        fact_schema(document["facts"])
        derivation(document["derive"])
        calendar.get_calendar(document["calendar"])
    except KeyError as exc:
        raise UnknownPolicy(f"ruleset needs {exc.args[0]!r}, which this build lacks") from None
    if document["format"] != FORMAT_1:
        kinds = document.get("deadlines")
        named = {
            spec["name"] for rule in document["rules"] for spec in _deadline_specs(rule["then"])
        }
        if not isinstance(kinds, Mapping) or not named <= set(kinds):
            raise UnknownPolicy("a format-2 ruleset gives every deadline name a kind")


def _deadline_specs(then: Mapping) -> list[Mapping]:
    specs = list(then.get("deadlines", ()))
    if "choose" in then:
        specs += _deadline_specs(then["choose"]["then"]) + _deadline_specs(then["choose"]["else"])
    return specs


class _Prepared:
    """Per-document work done once per version: schema, derivation, tested names, obligations."""

    def __init__(self, document: Mapping, version: str) -> None:
        self.cls, self.cross_check = fact_schema(document["facts"])
        self.derive = derivation(document["derive"])
        self.document = document
        self.engine_name = engine.ruleset_name(document["id"], version)
        # Only what the conditions test goes into the engine (no names, no free text).
        self.tested = condition_names(document["rules"])
        kinds = document.get("deadlines") if document["format"] != FORMAT_1 else None
        self.kinds: Mapping[str, str] | None = kinds
        self.obligations = (
            frozenset(n for n, k in kinds.items() if k == "obligation")
            if kinds is not None
            else None
        )


_prepared: dict[str, _Prepared] = {}


def prepared(document: Mapping, version: str) -> _Prepared:
    """The per-version preparation of `document`, made on first use."""
    found = _prepared.get(version)
    if found is None:
        found = _prepared[version] = _Prepared(document, version)
    return found


def run_document(document: Mapping, version: str, facts: object, as_of: object) -> Decision:
    """The decision `document` (of `version`) takes on `facts` at `as_of`."""
    timezone = document["timezone"]
    ready = prepared(document, version)
    struct, moment = validate_facts(
        facts, as_of, ready.cls, timezone, ready.cross_check, ready.obligations
    )
    derived = ready.derive(struct, moment, document["calendar"], timezone)
    outcome, reasons = decided(ready, version, derived)
    if ready.kinds is not None:
        outcome = with_obligations(
            outcome, ready.kinds, getattr(struct, "acts", {}), moment, timezone
        )
    return Decision(
        policy=document["id"],
        policy_version=version,
        as_of=moment.text,
        outcome=outcome,
        reasons=reasons,
    )


def decided(
    ready: _Prepared, version: str, derived: Mapping[str, Any]
) -> tuple[Outcome, list[Reason]]:
    """The outcome and reasons on the derived values, remembered per version and derived
    values: the rules that fire are a pure function of the message, itself one of the derived
    values, so a repeat skips the message, the engine's remembered match and `concluded`'s key
    (issue 10: a sixth of an evaluation). `engine.forget()` forgets these too."""
    try:
        return _remembered_decisions(version, _derived_key(derived))
    except TypeError:  # a derived value that cannot be hashed: work it out every time
        return _decide(ready, version, derived)


DerivedKey = tuple[tuple[str, ...], tuple, tuple]


def _derived_key(derived: Mapping[str, Any]) -> DerivedKey:
    """Names, values and their types (True == 1 would otherwise share an entry), as three
    flat tuples: quicker to build and hash than one of pairs (hashing it raises TypeError
    when a value cannot be hashed)."""
    values = tuple(derived.values())
    return (tuple(derived), values, tuple(map(type, values)))


def _decide(
    ready: _Prepared, version: str, derived: Mapping[str, Any], key: DerivedKey | None = None
) -> tuple[Outcome, list[Reason]]:
    """Match the message (only what the conditions test) on the engine, then conclude."""
    message = {k: v for k in ready.tested if (v := derived.get(k)) is not None}
    fired = engine.fired_rules(ready.engine_name, ready.document["rules"], message)
    return concluded(version, fired, derived, key)


@lru_cache(maxsize=4096)
def _remembered_decisions(version: str, key: DerivedKey) -> tuple[Outcome, list[Reason]]:
    names, values, _ = key
    return _decide(_prepared[version], version, dict(zip(names, values, strict=True)), key)


engine.on_forget(_remembered_decisions.cache_clear)


def concluded(
    version: str,
    fired: frozenset[str],
    derived: Mapping[str, Any],
    key: DerivedKey | None = None,
) -> tuple[Outcome, list[Reason]]:
    """`conclude` for a version already `prepared`, remembered: the conclusions are a pure
    function of the version, the rules that fired and the derived values (dates among them,
    so the same facts received on the same day conclude alike), and the Structs are frozen
    (issue 10: a third of an evaluation's time). `key`: the derived values' `_derived_key`,
    when the caller has it already."""
    try:
        return _remembered_conclusions(version, fired, key or _derived_key(derived))
    except TypeError:  # a derived value that cannot be hashed: work it out every time
        return conclude(_prepared[version].document, fired, derived)


@lru_cache(maxsize=4096)
def _remembered_conclusions(
    version: str, fired: frozenset[str], key: DerivedKey
) -> tuple[Outcome, list[Reason]]:
    names, values, _ = key
    return conclude(_prepared[version].document, fired, dict(zip(names, values, strict=True)))


@lru_cache(maxsize=8192)
def deadline_status(due: str, done_at: str | None, moment: Moment, timezone: str) -> str:
    """`met`, `late`, `open` or `overdue` (POLICIES.md, "Deadlines, obligations and acts").

    A date deadline compares local dates; an hours deadline compares instants, a date act
    standing for the start of its local day. Exactly at `due` is on time.

    Remembered: a pure function of its arguments (a Moment is frozen), asked again for every
    deadline of every decision, and the same complaint decided in the same hour asks the same
    questions (issue 10).
    """
    if calendar.is_date_only(due):
        limit = date.fromisoformat(due)
        if done_at is None:
            return "open" if moment.local_date <= limit else "overdue"
        return "met" if calendar.local_date(done_at, timezone) <= limit else "late"
    deadline = calendar.parse_instant(due)  # computed: it may lie past the years of input
    if done_at is None:
        return "open" if moment.instant <= deadline else "overdue"
    act = calendar.parse_date_fact(done_at)
    if not isinstance(act, datetime):
        act = calendar.start_of_local_day(act, timezone)
    return "met" if act <= deadline else "late"


def with_obligations(
    outcome: Outcome,
    kinds: Mapping[str, str],
    acts: Mapping[str, str],
    moment: Moment,
    timezone: str,
) -> Outcome:
    """The outcome with each deadline's kind, and each obligation's status and done_at."""
    deadlines = []
    for d in outcome.deadlines:
        kind = kinds[d.name]
        if kind == "obligation":
            done_at = acts.get(d.name)
            status = deadline_status(d.due, done_at, moment, timezone)
        else:
            done_at = status = None
        deadlines.append(
            Deadline(name=d.name, kind=kind, due=d.due, status=status, done_at=done_at, rule=d.rule)
        )
    return msgspec.structs.replace(outcome, deadlines=deadlines)


def condition_names(rules: list[Mapping]) -> list[str]:
    """The message fields the rules' conditions test, sorted."""
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, Mapping):
            for key, value in node.items():
                if not key.startswith("$"):
                    names.add(key)
                if key == "$m" and isinstance(value, str):
                    names.add(value)
                walk(value)

    for rule in rules:
        for expression in rule["when"].values():
            walk(expression)
    return sorted(names)


def standing_rules(rules: list[Mapping], fired: frozenset[str]) -> list[Mapping]:
    """The fired rules whose conclusions stand, in rule order (exclusive rules applied)."""
    matched = [rule for rule in rules if rule["id"] in fired]
    exclusive = [rule for rule in matched if rule.get("exclusive")]
    if not exclusive:
        return matched
    winner = exclusive[-1]
    kept = set(winner.get("keeps", ())) | {winner["id"]}
    return [rule for rule in matched if rule["id"] in kept]


class _Conclusions:
    """Accumulates the conclusions of standing rules in rule order."""

    def __init__(self, derived: Mapping[str, Any], calendar_name: str, timezone: str) -> None:
        self.derived = derived
        self.calendar_name = calendar_name
        self.timezone = timezone
        self.disposition = "accept"
        self.stage: str | None = None
        self.route: Route | None = None
        self.notify: list[Route] = []
        self.deadlines: list[Deadline] = []
        self.actions: list[Action] = []
        self.flags: list[str] = []
        self.eligibility: dict[str, bool] = {}

    def value(self, expression: Any) -> Any:
        if isinstance(expression, Mapping):
            if "$" in expression:
                return self.derived[expression["$"]]
            if "$map" in expression:
                return expression["table"][self.derived[expression["$map"]]]
            raise ValueError(f"unknown value expression {sorted(expression)}")
        return expression

    def role(self, spec: Mapping | None) -> Route | None:
        if spec is None:
            return None
        return Route(role=self.value(spec["role"]), assignee=self.value(spec.get("assignee")))

    def due(self, spec: Mapping) -> str:
        # `or_date`: a derived date (`YYYY-MM-DD`) that, when there is one, is the due instead.
        if spec.get("or_date") and self.derived[spec["or_date"]] is not None:
            return self.derived[spec["or_date"]]
        n = spec["n"]
        if "working_days_after" in spec:
            start = date.fromisoformat(self.derived[spec["working_days_after"]])
            return calendar.working_days_after(start, n, self.calendar_name).isoformat()
        if "days_after" in spec:
            start = date.fromisoformat(self.derived[spec["days_after"]])
            return calendar.days_after(start, n).isoformat()
        if "hours_after" in spec:
            instant = calendar.parse_instant(self.derived[spec["hours_after"]])
            return calendar.utc_text(calendar.hours_after(instant, n))
        raise ValueError(f"unknown due expression {sorted(spec)}")

    def apply(self, then: Mapping, rule_id: str) -> None:
        if "disposition" in then:
            self.disposition = self.value(then["disposition"])
        if "stage" in then:
            self.stage = self.value(then["stage"])
        if "route" in then:
            self.route = self.role(then["route"])
        # Each part only when the rule has it: this runs for every standing rule (issue 10).
        if "notify" in then:
            self.notify.extend(r for r in map(self.role, then["notify"]) if r)
        if "deadlines" in then:
            for spec in then["deadlines"]:
                if spec.get("ends_when") and self.derived[spec["ends_when"]]:
                    continue
                self.deadlines.append(
                    Deadline(name=spec["name"], due=self.due(spec["due"]), rule=rule_id)
                )
        if "actions" in then:
            for spec in then["actions"]:
                detail = self.value(spec.get("detail"))
                self.actions.append(Action(code=spec["code"], detail=detail, rule=rule_id))
        if "flags" in then:
            self.flags.extend(then["flags"])
        if "eligibility" in then:
            for key, expression in then["eligibility"].items():
                self.eligibility[key] = bool(self.value(expression))
        if then.get("closes") and self.disposition == "accept":
            self.disposition = "close"
        if "choose" in then:
            branch = then["choose"]
            self.apply(branch["then"] if self.derived[branch["if"]] else branch["else"], rule_id)

    def deadline_order(self, deadline: Deadline) -> tuple[datetime, str]:
        return _due_instant(deadline.due, self.timezone), deadline.name

    def outcome(self) -> Outcome:
        return Outcome(
            disposition=self.disposition,  # type: ignore[arg-type]
            stage=self.stage,
            route=self.route,
            notify=self.notify,
            deadlines=sorted(self.deadlines, key=self.deadline_order),
            actions=self.actions,
            flags=self.flags,
            eligibility=self.eligibility,
        )


@lru_cache(maxsize=8192)
def _due_instant(due: str, timezone: str) -> datetime:
    """The instant a due stands for when deadlines are ordered: a date counts as the end of its
    local day when compared with a date-time. Cached: dues repeat, and it is on every
    evaluation's path (issue 10)."""
    if calendar.is_date_only(due):
        return calendar.end_of_local_day(date.fromisoformat(due), timezone)
    return calendar.parse_instant(due)


def conclude(
    document: Mapping, fired: frozenset[str], derived: Mapping[str, Any]
) -> tuple[Outcome, list[Reason]]:
    """The outcome and reasons from the rules that fired, by POLICIES.md's precedence."""
    conclusions = _Conclusions(derived, document["calendar"], document["timezone"])
    reasons: list[Reason] = []
    for rule in standing_rules(document["rules"], fired):
        conclusions.apply(rule["then"], rule["id"])
        reasons.append(Reason(rule=rule["id"], citation=rule["citation"], text=rule["description"]))
    return conclusions.outcome(), reasons


__all__ = [
    "FORMAT",
    "FORMATS",
    "FORMAT_1",
    "Moment",
    "check_document",
    "conclude",
    "document_version",
    "deadline_status",
    "run_document",
    "standing_rules",
]
