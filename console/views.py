"""What the console's pages show, computed from a `reports.Snapshot` or from rows the store's
decision index answers (pure: no I/O here).

The handlers in `console.pages` read the store (the decision index, the case tables, one
decision's entry, the stored checkpoints, consistency proofs) and hand the rows to these
functions; the snapshot functions stay as the specification of what those rows must give.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import msgspec

import rules
from console.errors import Said
from reports.compute import Snapshot, Subject, is_live, obligation_fates, role_of, subjects
from reports.query import FIRST_YEAR, LAST_YEAR, ReportQuery
from rules.calendar import local_date

PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # 50 million rows, 50 a page: any offset fits the store's integers
FILTERS = ("policy", "from", "to", "route", "stage", "flag", "purpose")
PURPOSES = ("live", "test", "preview")
CASE_STATES = ("open", "closed")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DIGITS = re.compile(r"[0-9]+")
NUMBER = re.compile(r"0|[1-9][0-9]*")  # as the API reads integers: no leading zeros
CLOSING = {"close", "refer", "out_of_jurisdiction", "not_eligible"}


@dataclass(frozen=True)
class DecisionFilter:
    policy: str | None = None
    start: date | None = None
    end: date | None = None
    route: str | None = None
    stage: str | None = None
    flag: str | None = None
    purpose: str | None = None


def parse_filter(
    values: Mapping[str, str | None], policies: Sequence[str] | None = None
) -> tuple[DecisionFilter, list[Said]]:
    """The decision filter from query values, and a message for each bad one: a date that is
    not `YYYY-MM-DD`, `to` before `from`, a policy or purpose that does not exist (each named
    with the allowed values, since a filter that can match nothing is a mistake, not a search).
    Route, stage and flag are free text here, as in the API; the console's page also checks them
    against the policies' vocabulary (`vocabulary_errors`)."""
    errors: list[Said] = []
    start = day_value(values, "from", errors)
    end = day_value(values, "to", errors)
    if start is not None and end is not None and start > end:
        errors.append(Said("to", f"{end} is before from {start}"))
    known = list(policies) if policies is not None else rules.policy_ids()
    plain = {k: (values.get(k) or None) for k in ("policy", "route", "stage", "flag", "purpose")}
    errors += choice_errors("policy", plain["policy"], known)
    errors += choice_errors("purpose", plain["purpose"], PURPOSES)
    return DecisionFilter(start=start, end=end, **plain), errors


def day_value(values: Mapping[str, str | None], name: str, errors: list[Said]) -> date | None:
    """A date `YYYY-MM-DD` in ASCII digits within the years the reports take (Python's
    `fromisoformat` also reads `20261101` and `2026-W45-1`, which the API refuses)."""
    text = values.get(name) or None
    if text is None:
        return None
    try:
        if DATE.fullmatch(text) is None:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        errors.append(Said(name, f"{text!r} is not a date YYYY-MM-DD"))
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors.append(Said(name, f"{text} is outside the years {FIRST_YEAR}-{LAST_YEAR}"))
        return None
    return day


def choice_errors(name: str, value: str | None, allowed: Sequence[str]) -> list[Said]:
    """A message when `value` is given and is none of `allowed`, naming them."""
    if value is None or value in allowed:
        return []
    return [Said(name, f"no {name} {value!r}: one of {', '.join(allowed)}")]


def outcome_words(policy: str | None) -> dict[str, list[str]]:
    """The routes (roles), stages and flags a policy's decisions can carry (every policy's, when
    none is chosen or it is unknown), from the rules package's vocabulary."""
    known = rules.policy_ids()
    chosen = [policy] if policy in known else known
    words: dict[str, set[str]] = {"route": set(), "stage": set(), "flag": set()}
    for each in chosen:
        v = rules.vocabulary(each)
        words["route"].update(v.roles)
        words["stage"].update(v.stages)
        words["flag"].update(v.flags)
    return {name: sorted(values) for name, values in words.items()}


def vocabulary_errors(chosen: DecisionFilter) -> list[Said]:
    """A message for a route, stage or flag no decision (of the chosen policy) can carry,
    naming those it can: a filter that can match nothing is a mistake, as an unknown policy
    is, not a search that found nothing."""
    words = outcome_words(chosen.policy)
    return [
        error
        for name, value in (("route", chosen.route), ("stage", chosen.stage), ("flag", chosen.flag))
        for error in choice_errors(name, value, words[name])
    ]


def parse_page(text: str | None, last: int = MAX_PAGE) -> tuple[int, list[Said]]:
    """A page number from `?page=`: 1 when absent; decimal digits 0-9 without leading zeros,
    as the API reads integers (`int()` would also take `02`, `+2`, ` 2`, `2_0` and other
    scripts' digits such as the full-width `２`, which the API refuses), from 1 to `last`. A
    bad one is named, and page 1 stands in its place."""
    if not text:
        return 1, []
    if text == "0" or (text.startswith("-") and DIGITS.fullmatch(text[1:])):
        return 1, [Said("page", "pages are numbered from 1")]
    if NUMBER.fullmatch(text) is None:
        return 1, [Said("page", f"{text!r} is not a number: write it in decimal digits 0-9 "
                                "without leading zeros")]  # fmt: skip
    if len(text) > len(str(last)) or int(text) > last:  # its offset would not fit the store
        return 1, [Said("page", f"at most {last:,}")]
    return int(text), []


def past_the_end(number: int) -> Said:
    """What a page past the last of a list is told (the page shows it with a link to page 1)."""
    return Said("page", f"there is no page {number}: the list ends before it")


def page_href(path: str, keep: Mapping[str, str], number: int) -> str:
    """The link to page `number` of a list with the filters `keep`: `path?policy=wme&page=2`,
    URL-encoded; page 1 is the list itself, with no `page`."""
    query = {**keep, "page": str(number)} if number > 1 else dict(keep)
    return f"{path}?{urlencode(query)}" if query else path


def pager(path: str, keep: Mapping[str, str], number: int, more: bool) -> dict[str, str | None]:
    """The Newer and Older links of page `number` (None where there is no such page)."""
    return {
        "newer": page_href(path, keep, number - 1) if number > 1 else None,
        "older": page_href(path, keep, number + 1) if more else None,
        "first": page_href(path, keep, 1),
    }


NOT_NEXT = ("/console/sign-in", "/console/sign-out")


def safe_next(text: str | None) -> str | None:
    """`text` when it is a console page of this origin to go to after signing in, else None: a
    path (no scheme or host) that is `/console` or starts with `/console/` (so never `//…`,
    another host to a browser), in printable ASCII without a backslash (read as `/` by
    browsers), with no `.` or `..` segment (even percent-encoded: browsers resolve those out
    of the console), and not the sign-in or sign-out page itself."""
    if not text or len(text) > 2000 or "\\" in text:
        return None
    if any(not 33 <= ord(c) <= 126 for c in text):
        return None
    parts = urlsplit(text)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    path = parts.path
    if not (path == "/console" or path.startswith("/console/")):
        return None
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        return None
    if path.rstrip("/") in NOT_NEXT:
        return None
    return text


def local_day(snapshot: Snapshot, decision: Mapping[str, Any]) -> date:
    timezone = snapshot.policies.get(decision["policy"], ("UTC", ""))[0]
    return local_date(decision["as_of"], timezone)


def matches(snapshot: Snapshot, decision: Mapping[str, Any], f: DecisionFilter) -> bool:
    outcome = decision["outcome"]
    if f.policy and decision["policy"] != f.policy:
        return False
    if f.route and role_of(outcome) != f.route:
        return False
    if f.stage and outcome.get("stage") != f.stage:
        return False
    if f.flag and f.flag not in outcome.get("flags", []):
        return False
    if f.purpose and decision.get("purpose", "live") != f.purpose:
        return False
    if f.start or f.end:
        day = local_day(snapshot, decision)
        if (f.start and day < f.start) or (f.end and day > f.end):
            return False
    return True


def find_decisions(
    snapshot: Snapshot, f: DecisionFilter, page: int
) -> tuple[list[Mapping[str, Any]], bool]:
    """One page (50) of matching decisions, newest first, and whether another page follows."""
    found = [d for d in reversed(snapshot.decisions) if matches(snapshot, d, f)]
    start = (page - 1) * PAGE_SIZE
    return found[start : start + PAGE_SIZE], len(found) > start + PAGE_SIZE


def week_of(day: date) -> str:
    return (day - timedelta(days=day.weekday())).isoformat()


def decisions_per_week(
    snapshot: Snapshot, weeks: int = 12
) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """Live decisions per week (Monday, local) and policy, over the last `weeks` weeks (ending
    at the later of today and the newest decision, which may be dated ahead)."""
    live = [
        (week_of(local_day(snapshot, d)), d["policy"])
        for d in snapshot.decisions
        if is_live(d) and d["policy"] in snapshot.policies
    ]
    last = max([week_of(snapshot.now.date()), *(week for week, _ in live)])
    end = date.fromisoformat(last)
    columns = [week_of(end - timedelta(weeks=w)) for w in range(weeks - 1, -1, -1)]
    counts: Counter[tuple[str, str]] = Counter(
        (week, policy) for week, policy in live if columns[0] <= week <= columns[-1]
    )
    return columns, sorted(snapshot.policies), dict(counts)


def weekly_counts(
    per_day: Sequence[tuple[str, str, int]], policies: Sequence[str], today: date, weeks: int = 12
) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """`decisions_per_week` from the store's live decisions per (local day, policy)."""
    known = [(week_of(date.fromisoformat(day)), p, n) for day, p, n in per_day if p in policies]
    last = max([week_of(today), *(week for week, _, _ in known)])
    end = date.fromisoformat(last)
    columns = [week_of(end - timedelta(weeks=w)) for w in range(weeks - 1, -1, -1)]
    counts: Counter[tuple[str, str]] = Counter()
    for week, policy, n in known:
        if columns[0] <= week <= columns[-1]:
            counts[(week, policy)] += n
    return columns, sorted(policies), dict(counts)


def outcome_items(outcome: Any) -> dict[str, Any]:
    """A recorded outcome's deadlines, actions and eligibility as the decision's JSON holds them
    (`msgspec.to_builtins`): a field absent there (a version-1 deadline's `kind`, an action's
    `new` off a case) is absent here too, never shown as Python's `UNSET` or `None`."""
    built = msgspec.to_builtins(outcome)
    return {k: built[k] for k in ("deadlines", "actions", "eligibility")}


def filter_values(f: DecisionFilter) -> dict[str, str | None]:
    """The decision filter as the store's `search_decisions` takes it."""
    return {
        "policy": f.policy,
        "from": f.start.isoformat() if f.start else None,
        "to": f.end.isoformat() if f.end else None,
        "route": f.route,
        "stage": f.stage,
        "flag": f.flag,
        "purpose": f.purpose,
    }


@dataclass(frozen=True)
class CaseView:
    """A case as the console shows it: its subject (decisions, facts), stored state, and its
    register's rows with their status now (`obligations`); with the case tables' `reference`,
    `opened_at` and register rows (`register`: rule, first and last decision ids) where read."""

    subject: Subject
    state: str
    obligations: list[dict[str, Any]]
    reference: str | None = None
    opened_at: str | None = None
    register: list[dict[str, Any]] = field(default_factory=list)

    @property
    def register_rows(self) -> list[dict[str, Any]]:
        """Each obligation with its status now and, from the stored register, the rule that
        owed it, its status there (`recorded`: the latest decision's, so `open` for one whose
        due has passed since) and the first and last decisions that listed it (CONTRACT.md's
        fields)."""
        stored = {row["name"]: row for row in self.register}
        keep = ("rule", "first_decision_id", "last_decision_id")
        return [
            o
            | {k: stored.get(o["name"], {}).get(k) for k in keep}
            | {"recorded": stored.get(o["name"], {}).get("status")}
            for o in self.obligations
        ]

    @property
    def overdue(self) -> list[dict[str, Any]]:
        return [o for o in self.obligations if o["status"] == "overdue"]


def case_state(subject: Subject, obligations: Sequence[Mapping[str, Any]]) -> str:
    """CONTRACT.md: closed when the latest disposition closes, refers or rules the case out and
    no obligation is open or overdue; otherwise open."""
    if subject.latest["outcome"]["disposition"] not in CLOSING:
        return "open"
    return "open" if any(o["status"] in ("open", "overdue") for o in obligations) else "closed"


def case_views(snapshot: Snapshot) -> list[CaseView]:
    """Every case (with live decisions) and its register as of now."""
    views = []
    for subject in subjects(snapshot):
        if subject.case_id is None:
            continue
        fates = obligation_fates(subject, snapshot, ReportQuery())
        views.append(CaseView(subject, case_state(subject, fates), fates))
    return views


def obligations_by_status(snapshot: Snapshot) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for subject in subjects(snapshot):
        for fate in obligation_fates(subject, snapshot, ReportQuery()):
            counts[fate["status"]] += 1
    return [(s, counts[s]) for s in ("met", "late", "open", "overdue", "lapsed")]


def overdue_now(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Each obligation overdue now, oldest due first: case (or decision), policy, name, due."""
    rows = []
    for subject in subjects(snapshot):
        for fate in obligation_fates(subject, snapshot, ReportQuery()):
            if fate["status"] == "overdue":
                rows.append(
                    {
                        "case_id": subject.case_id,
                        "decision_id": subject.latest["decision_id"],
                        "policy": subject.policy,
                        "name": fate["name"],
                        "due": fate["due"],
                    }
                )
    rows.sort(key=lambda r: r["due"])
    return rows
