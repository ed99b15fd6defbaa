"""The obligation register of a case (CONTRACT.md, "The obligation register (version 2)").

Pure functions over plain JSON-like dicts: a decision is what a ledger `decision` entry's body
holds (or what the API answers), so the register is the same whether it is kept live, one
decision at a time (`register_after`), or rebuilt from a case's decisions (`register_of`,
`registers_from_entries`).

A row is `{name, rule, due, done_at, status, first_decision_id, last_decision_id}`, one per
obligation deadline any of the case's decisions listed, in the order they were first listed;
three more keys, kept with it but not shown, say when it stopped being pending: `dropped_at`,
the `as_of` of the decision that first no longer listed it, `ends_at`, the earlier of that and
its act (`ends_at_of`), and `gaps`, the times it was not listed before a later decision listed
it again (`[from, to]`, UTC instant text). An obligation is overdue at an instant between its
due passing and its end, but in a gap (`was_overdue`), so a past day is answered with what was
overdue on it (as far as the acts recorded since tell): a missed obligation never vanishes from
the days it was overdue, and one that had lapsed is not overdue until it is listed again.

Choices where CONTRACT.md is silent:
- `last_decision_id` is the latest decision that listed the obligation (while it is listed, the
  case's latest decision).
- `done_at` follows the `acts` fact. When a decision carries its facts (a ledger body) an
  obligation no longer listed takes its act from them, so an act sent in the same event that
  ended the deadline, or later but dated no later than that end, still makes it `met` or `late`
  (CONTRACT.md, "Reports": "even when the act came in the same event that ended the
  deadline"); an act dated after the end leaves it `lapsed` ("its stage ended first"), its
  `done_at` still the act. A decision without facts (the API's shape) leaves an unlisted row's
  `done_at` as it was.
- A deadline without `kind`, `status` or `done_at` (a decision recorded under POLICIES.md
  version 1) is read with the kind its name has in version 2 (`VERSION_1_KINDS`), and its status
  is computed from `due`, the act and `as_of` as POLICIES.md "Deadlines, obligations and acts"
  says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from clock import instant_text
from rules.calendar import (
    is_date_only,
    local_date,
    parse_date_fact,
    parse_date_time,
    parse_instant,
    start_of_local_day,
)

Row = dict[str, Any]
Decision = Mapping[str, Any]

OBLIGATION = "obligation"
# POLICIES.md v2 fixes each deadline's kind by its name; these are the names that are not
# obligations, for decisions recorded before deadlines carried `kind`.
VERSION_1_KINDS = {
    "appeal_window_closes": "window",
    "employer_response": "window",
    "ministry_escalation_available": "opens",
}
# CONTRACT.md: a case may close on these dispositions once nothing is open or overdue.
ENDING_DISPOSITIONS = frozenset({"close", "refer", "out_of_jurisdiction", "not_eligible"})
PENDING = frozenset({"open", "overdue"})
DONE = frozenset({"met", "late"})
LAPSED = "lapsed"
_NO_FACTS = object()
_FROM_DECISION = object()


# -- time ------------------------------------------------------------------------------------


def policy_timezone(policy: str) -> str:
    """The IANA time zone a built-in policy takes its local dates in."""
    from rules.policies import DOCUMENTS  # the policies, only when a caller gave no time zone

    return DOCUMENTS[policy]["timezone"]


def _instant(value: str, timezone: str) -> datetime:
    """A date fact as an instant: a date stands for the start of its local day."""
    if is_date_only(value):
        return start_of_local_day(date.fromisoformat(value), timezone)
    return parse_date_time(value).astimezone(UTC)


def passes_at(due: str, timezone: str) -> datetime:
    """The first UTC instant at which an obligation not done is overdue.

    A date due passes when its local day is over (the next one begins); an hours due is an
    instant, and an act or `as_of` at exactly `due` is on time, so it passes one microsecond
    later (the finest step a date-time fact keeps). Overdue at `at` ⇔ `at >= passes_at(...)`.
    """
    if is_date_only(due):
        return start_of_local_day(date.fromisoformat(due) + timedelta(days=1), timezone)
    return parse_instant(due).astimezone(UTC) + timedelta(microseconds=1)


def as_instant(at: date | datetime | str, timezone: str) -> datetime:
    """`at` as a UTC instant: a date `D` (or `YYYY-MM-DD` text) is the start of local day D."""
    if isinstance(at, str):
        at = parse_date_fact(at)
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("a date-time needs an offset")
        return at.astimezone(UTC)
    return start_of_local_day(at, timezone)


def ends_at_of(done_at: str | None, dropped_at: str | None, timezone: str) -> str | None:
    """When an obligation stopped being pending, as UTC instant text: the earlier of its act (a
    date act stands for the start of its local day, as POLICIES.md has it for an hours
    deadline, so an act in time ends it before its due passes) and `dropped_at`; None while
    neither happened."""
    ends = [] if dropped_at is None else [parse_instant(dropped_at).astimezone(UTC)]
    if done_at is not None:
        ends.append(_instant(done_at, timezone))
    return instant_text(min(ends)) if ends else None


def was_overdue(row: Row, moment: datetime, timezone: str) -> bool:
    """Whether the obligation of `row` was overdue at `moment` (UTC): its due had passed, it
    had not ended, and no decision had stopped listing it but for a later one to list it again
    (a gap). A row stored before rows kept their end (`ends_at` absent) counts while
    it is listed and not done, as it did then."""
    if moment < passes_at(row["due"], timezone):
        return False
    if row.get("gaps"):
        at = instant_text(moment)
        if any(start <= at < end for start, end in row["gaps"]):
            return False  # not listed then: it had lapsed
    ends_at = row.get("ends_at")
    if ends_at is None:
        return row["status"] in PENDING and row["done_at"] is None
    return moment < parse_instant(ends_at).astimezone(UTC)


def obligation_status(due: str, done_at: str | None, as_of: str, timezone: str) -> str:
    """`met`, `late`, `open` or `overdue`, exactly as POLICIES.md defines `status`.

    "A date deadline compares local dates: the act's local date, or `as_of`'s, against `due`.
    An hours deadline compares instants: the act's (a date act stands for the start of its local
    day), or `as_of`, against `due`; an act or `as_of` at exactly `due` is on time."
    """
    moment = done_at if done_at is not None else as_of
    if is_date_only(due):
        in_time = local_date(moment, timezone) <= date.fromisoformat(due)
    else:
        in_time = _instant(moment, timezone) <= parse_instant(due).astimezone(UTC)
    if done_at is not None:
        return "met" if in_time else "late"
    return "open" if in_time else "overdue"


# -- reading decisions -------------------------------------------------------------------------


def deadline_kind(deadline: Mapping[str, Any]) -> str:
    """A deadline's kind; for a version-1 deadline, the kind its name has in version 2."""
    return deadline.get("kind") or VERSION_1_KINDS.get(deadline["name"], OBLIGATION)


def obligations_listed(decision: Decision) -> dict[str, Mapping[str, Any]]:
    """The decision's obligation deadlines by name, in the decision's order."""
    return {
        d["name"]: d for d in decision["outcome"]["deadlines"] if deadline_kind(d) == OBLIGATION
    }


def acts_of(decision: Decision) -> Any:
    """The decision's `acts` (an empty object when its facts hold none), or `_NO_FACTS` when the
    decision does not carry its facts (the API's shape)."""
    facts = decision.get("facts")
    if not isinstance(facts, Mapping):
        return _NO_FACTS
    acts = facts.get("acts")
    return acts if isinstance(acts, Mapping) else {}


def _timezone(decision: Decision, timezone: str | None) -> str:
    return timezone if timezone is not None else policy_timezone(decision["policy"])


def _listed_row(
    deadline: Mapping[str, Any],
    decision: Decision,
    first_decision_id: str,
    acts: Any,
    tz: str,
    gaps: list[list[str]] | None = None,
) -> Row:
    name = deadline["name"]
    if "done_at" in deadline:
        done_at = deadline["done_at"]
    else:  # version 1: no done_at on deadlines (and no acts fact either, in practice)
        done_at = acts.get(name) if acts is not _NO_FACTS else None
    status = deadline.get("status") or obligation_status(
        deadline["due"], done_at, decision["as_of"], tz
    )
    return {
        "name": name,
        "rule": deadline["rule"],
        "due": deadline["due"],
        "done_at": done_at,
        "status": status,
        "first_decision_id": first_decision_id,
        "last_decision_id": decision["decision_id"],
        "dropped_at": None,
        "ends_at": ends_at_of(done_at, None, tz),
        "gaps": gaps or [],
    }


def _ended_row(row: Row, done_at: str | None, dropped_at: str, tz: str) -> Row:
    """A row no decision lists any more (since `dropped_at`): met or late if done by then,
    lapsed if not ("its stage ended first"), even when an act came later."""
    if done_at is None or _instant(done_at, tz) > parse_instant(dropped_at).astimezone(UTC):
        status = LAPSED
    else:
        status = obligation_status(row["due"], done_at, done_at, tz)
    ends_at = ends_at_of(done_at, dropped_at, tz)
    return {
        **row,
        "done_at": done_at,
        "status": status,
        "dropped_at": dropped_at,
        "ends_at": ends_at,
    }


def _dropped_at(decision: Decision) -> str:
    """The instant a decision that no longer lists an obligation was taken, as UTC text. An
    obligation is dropped at the earliest such instant (`_earliest`): events may be dated
    before the case's previous decision, and at any decision's `as_of` after the one that
    dropped it, the obligation has ended."""
    return instant_text(parse_instant(decision["as_of"]).astimezone(UTC))


def _gap(dropped_at: str | None, relisted: Decision) -> list[list[str]]:
    """The time an obligation was not listed, from `dropped_at` until the decision `relisted`
    listed it again, as a list of one gap (none if it had not been dropped, or `relisted` is
    dated before that)."""
    if dropped_at is None:
        return []
    until = _dropped_at(relisted)
    return [[dropped_at, until]] if until > dropped_at else []


def _earliest(kept: str | None, instant: str) -> str:
    return instant if kept is None else min(kept, instant)  # fixed-width UTC text sorts as time


# -- the register --------------------------------------------------------------------------------


def register_after(
    rows: Sequence[Row],
    decision: Decision,
    *,
    acts: Any = _FROM_DECISION,
    timezone: str | None = None,
) -> list[Row]:
    """The register once `decision`, the case's newest, is taken (the input is not changed).

    `acts` is the case's `acts` fact (None: the case has none) for a `decision` that does not
    carry its facts (the API's shape); when not given, the decision's own facts are read.
    `timezone` is the policy's (looked up from the built-in policy when not given).
    """
    tz = _timezone(decision, timezone)
    if acts is _FROM_DECISION:
        known_acts = acts_of(decision)
    else:
        known_acts = acts if isinstance(acts, Mapping) else {}
    listed = obligations_listed(decision)
    after: list[Row] = []
    for row in rows:
        name = row["name"]
        if name in listed:
            deadline = listed.pop(name)
            gaps = [*(row.get("gaps") or []), *_gap(row.get("dropped_at"), decision)]
            first_id = row["first_decision_id"]
            after.append(_listed_row(deadline, decision, first_id, known_acts, tz, gaps))
        else:
            done_at = row["done_at"] if known_acts is _NO_FACTS else known_acts.get(name)
            dropped_at = _earliest(row.get("dropped_at"), _dropped_at(decision))
            after.append(_ended_row(row, done_at, dropped_at, tz))
    after.extend(
        _listed_row(d, decision, decision["decision_id"], known_acts, tz) for d in listed.values()
    )
    return after


def register_of(decisions: Sequence[Decision], *, timezone: str | None = None) -> list[Row]:
    """The register of a case from its decisions, oldest first.

    Computed row by row from the decisions (not by folding `register_after`), so that the two
    can check each other: for every history they must agree.
    """
    if not decisions:
        return []
    tz = _timezone(decisions[0], timezone)
    listings: dict[str, list[int]] = {}
    for position, decision in enumerate(decisions):
        for name in obligations_listed(decision):
            listings.setdefault(name, []).append(position)
    latest = len(decisions) - 1
    rows: list[Row] = []
    for name, positions in listings.items():
        first, last = positions[0], positions[-1]
        first_id = decisions[first]["decision_id"]
        deadline = obligations_listed(decisions[last])[name]
        gaps = []
        for before, again in zip(positions, positions[1:], strict=False):
            if again > before + 1:  # decisions in between did not list it
                dropped_at = min(_dropped_at(d) for d in decisions[before + 1 : again])
                gaps += _gap(dropped_at, decisions[again])
        acts = acts_of(decisions[last])
        row = _listed_row(deadline, decisions[last], first_id, acts, tz, gaps)
        if last < latest:
            done_at = row["done_at"]
            for later in decisions[last + 1 :]:
                acts = acts_of(later)
                if acts is not _NO_FACTS:
                    done_at = acts.get(name)
            dropped_at = min(_dropped_at(later) for later in decisions[last + 1 :])
            row = _ended_row(row, done_at, dropped_at, tz)
        rows.append(row)
    return rows


def case_state(latest_decision: Decision, rows: Iterable[Row]) -> str:
    """`closed` when the latest decision's disposition ends the case (close, refer,
    out_of_jurisdiction, not_eligible) and no obligation is open or overdue; else `open`."""
    ending = latest_decision["outcome"]["disposition"] in ENDING_DISPOSITIONS
    pending = any(row["status"] in PENDING for row in rows)
    return "closed" if ending and not pending else "open"


def overdue_at(rows: Iterable[Row], at: date | datetime | str, timezone: str) -> list[str]:
    """Names of the obligations overdue at `at` (a date D: the start of local day D): due
    passed and not yet ended at that instant (`was_overdue`), even when they ended since."""
    moment = as_instant(at, timezone)
    return [row["name"] for row in rows if was_overdue(row, moment, timezone)]


def case_summary(
    case_id: str,
    policy: str,
    latest_decision: Decision,
    rows: Iterable[Row],
    opened_at: str,
    at: date | datetime | str,
    timezone: str | None = None,
) -> dict[str, Any]:
    """A `GET /v1/cases` item: `{case_id, policy, state, opened_at, stage, route, overdue}`,
    with `overdue` the obligations overdue at `at` and `route` the latest decision's route."""
    rows = list(rows)
    tz = timezone if timezone is not None else policy_timezone(policy)
    outcome = latest_decision["outcome"]
    return {
        "case_id": case_id,
        "policy": policy,
        "state": case_state(latest_decision, rows),
        "opened_at": opened_at,
        "stage": outcome["stage"],
        "route": outcome["route"],
        "overdue": overdue_at(rows, at, tz),
    }


# -- rebuilding from the ledger ---------------------------------------------------------------


def _plain(entry: Any) -> Mapping[str, Any]:
    return entry if isinstance(entry, Mapping) else msgspec.to_builtins(entry)


def registers_from_entries(
    entries: Iterable[Any], *, timezones: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Every case's register and state, rebuilt from the ledger's decisions alone.

    `entries` are the ledger's entries in order (`{index, kind, recorded_at, prev_hash, body}`,
    as dicts or `ledger` Entry structs); only `decision` entries whose body names a `case_id`
    count, and `erasure` entries. Each case maps to `{policy, rows, state, facts, decision_ids,
    opened_at, stage, route, purpose, personal, personal_commitment}`: `facts` are those given
    to the rules by its latest decision, `stage` and `route` its outcome's, `opened_at` the
    `recorded_at` of its first, `purpose` the first's (every decision of a case has the case's),
    and `personal` `erased` once an erasure names the case, else `sealed` when its first decision
    committed to personal data (the commitment), else `none`.
    """
    histories: dict[str, list[Mapping[str, Any]]] = {}
    opened: dict[str, str] = {}
    erased: set[str] = set()
    for raw in entries:
        entry = _plain(raw)
        body = entry.get("body") or {}
        if entry.get("kind") == "erasure":
            erased.add(body.get("case_id"))
        if entry.get("kind") != "decision" or body.get("case_id") is None:
            continue
        case_id = body["case_id"]
        histories.setdefault(case_id, []).append(body)
        opened.setdefault(case_id, entry.get("recorded_at"))
    cases: dict[str, dict[str, Any]] = {}
    for case_id, decisions in histories.items():
        policy = decisions[0]["policy"]
        tz = timezones[policy] if timezones is not None else None
        rows = register_of(decisions, timezone=tz)
        outcome = decisions[-1].get("outcome") or {}
        commitment = decisions[0].get("personal_commitment")
        personal = "erased" if case_id in erased else "sealed" if commitment else "none"
        cases[case_id] = {
            "policy": policy,
            "rows": rows,
            "state": case_state(decisions[-1], rows),
            "facts": decisions[-1].get("facts"),
            "decision_ids": [d["decision_id"] for d in decisions],
            "opened_at": opened[case_id],
            "stage": outcome.get("stage"),
            "route": outcome.get("route"),
            "purpose": decisions[0].get("purpose") or "live",
            "personal": personal,
            "personal_commitment": commitment if personal == "sealed" else None,
        }
    return cases
