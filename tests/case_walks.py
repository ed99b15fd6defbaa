"""Random case histories for the register's property tests: for each policy an opening and a
menu of events a client system might send (acts done on the event's day, outcomes issued,
levels changed, plain time passing). Some events are bad requests at some points of a history
(an appeal before any outcome); those are refused and record nothing, as over HTTP.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

Event = Callable[[str, str], dict[str, Any]]  # (event date, event date-time) -> facts

OPENINGS: dict[str, list[dict[str, Any]]] = {
    "wme": [
        {"kind": "complaint", "in_writing": True},
        {"kind": "complaint", "complex": True, "category": "misconduct"},
        {"kind": "concern"},
        {"kind": "comment"},
    ],
    "dwp-feedback": [
        {
            "escalation_causes": ["failed_to_keep_promises"],
            "issue_occurred_at": "2026-01-10",
            "caseworkers": [{"id": "cw-1", "last_opportunity_at": "2026-01-12"}],
        },
        {"channel": "letter"},
    ],
    "serco-es": [
        {
            "complainant_type": "client",
            "information_provided": ["name", "best_time_to_contact", "details"],
        },
        {"complainant_type": "service_provider"},
    ],
    "cmg-employer-review": [
        {
            "complainant_type": "employer",
            "payment_related": True,
            "dissatisfied_with_resolution": True,
            "all_actions_taken_at_resolution": False,
        },
    ],
}

MENUS: dict[str, list[Event]] = {
    "wme": [
        lambda d, t: {},
        lambda d, t: {"acts": {"acknowledge": d}},
        lambda d, t: {"acts": {"outcome": d}},
        lambda d, t: {"acts": {"holding_letter": d}},
        lambda d, t: {"acts": {"appeal_acknowledge": d, "appeal_decision": d}},
        lambda d, t: {"acts": {"acknowledge": None}},
        lambda d, t: {"stage_two_outcome_at": d},
        lambda d, t: {"stage_two_outcome_at": d, "acts": {"outcome": d}},
        lambda d, t: {"appeal_requested_at": d},
        lambda d, t: {"stage_three_outcome_at": d},
        lambda d, t: {"upheld": True},
        lambda d, t: {"resolved": True},
    ],
    "dwp-feedback": [
        lambda d, t: {},
        lambda d, t: {"form_received_at": t},
        lambda d, t: {"acts": {"team_leader_action": t}},
        lambda d, t: {"team_leader_agrees": True},
        lambda d, t: {"team_leader_agrees": False},
        lambda d, t: {"team_leader_agrees": None},
    ],
    "serco-es": [
        lambda d, t: {},
        lambda d, t: {"acts": {"respond": d}},
        lambda d, t: {"unresolved_at_level": True},
        lambda d, t: {"level": "ssm"},
        lambda d, t: {"level": "senior"},
        lambda d, t: {"resolved": True},
        lambda d, t: {"resolved": None},
        lambda d, t: {"ministry_escalation_recommended": True},
    ],
    "cmg-employer-review": [
        lambda d, t: {},
        lambda d, t: {"resolution_plan_issued_at": d},
        lambda d, t: {"resolution_actions_complete": True},
        lambda d, t: {"employer_agrees_resolved": True},
        lambda d, t: {"dissatisfied_after_closure": True},
    ],
}

START = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)  # a Monday, long past


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def opening(policy: str, choice: int, received: datetime) -> dict[str, Any]:
    """The facts a case opens with: one of the policy's openings, received on `received`."""
    facts = dict(OPENINGS[policy][choice % len(OPENINGS[policy])])
    return {"received_at": received.date().isoformat(), **facts}


def walk(rng: random.Random, policy: str, steps: int) -> tuple[dict, list[tuple[str, dict]]]:
    """An opening `(as_of, facts)` and `steps` events `(as_of, facts)`, 0–6 days apart."""
    moment = START + timedelta(days=rng.randrange(0, 60))
    facts = opening(policy, rng.randrange(100), moment)
    first = {"as_of": stamp(moment), "facts": facts}
    events = []
    for _ in range(steps):
        moment += timedelta(days=rng.randrange(0, 7), hours=rng.randrange(0, 8))
        event = rng.choice(MENUS[policy])
        events.append((stamp(moment), event(moment.date().isoformat(), stamp(moment))))
    return first, events


def record_history(
    client: Any,
    headers: dict[str, str],
    rng: random.Random,
    cases: int,
    steps: int,
    case_purpose: Callable[[int], str | None] = lambda n: None,
    decision_purpose: Callable[[int], str | None] = lambda n: None,
) -> None:
    """Record a history through the API (`client`, a test or HTTP client): for each policy,
    `cases` cases opened on a `walk` of `steps` events (their complainants two people in turn,
    so each repeats), then one case-less decision per opening of the policy, received in
    February to April. The n-th case or decision takes `case_purpose(n)` or
    `decision_purpose(n)` as its purpose (None: the default). Events a history makes bad at
    their point are refused (422) and record nothing."""
    for policy in MENUS:
        for n in range(cases):
            first, events = walk(rng, policy, steps)
            body = {"policy": policy, **first, "complainant": f"person-{n % 2}"}
            if case_purpose(n) is not None:
                body["purpose"] = case_purpose(n)
            answer = client.post("/v1/cases", json=body, headers=headers)
            assert answer.status_code == 201, answer.text
            case_id = answer.json()["case_id"]
            for as_of, facts in events:
                event = {"facts": facts, "as_of": as_of}
                answer = client.post(f"/v1/cases/{case_id}/events", json=event, headers=headers)
                assert answer.status_code in (201, 422), answer.text
        for n, facts in enumerate(OPENINGS[policy]):
            received = f"2026-0{2 + n % 3}-1{n}"
            body = {
                "policy": policy,
                "as_of": f"{received}T11:00:00Z",
                "facts": {"received_at": received, **facts},
            }
            if decision_purpose(n) is not None:
                body["purpose"] = decision_purpose(n)
            answer = client.post("/v1/decisions", json=body, headers=headers)
            assert answer.status_code == 201, answer.text
