"""One case per policy through its whole life, over HTTP against a real server on loopback:
received, acknowledged, escalated or resolved, closed. Acts are recorded on time and late; at
each step the case's obligation register and the overdue list (`GET /v1/cases?overdue_as_of=`)
are checked. Every date is in the past, so these `live` cases stay valid whenever they run.

CONTRACT.md, "The obligation register (version 2)": "`status` is the latest decision's status
while a decision still lists it; once the case's latest decision no longer lists it, it keeps
`met` or `late` if it was done, and becomes `lapsed` if it was never done (its stage ended
first). A case is `closed` when its latest decision's disposition is `close`, `refer`
(...), `out_of_jurisdiction` or `not_eligible` and no obligation is `open` or `overdue`."
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import LiveServer, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("case-life")) as running:
        yield running


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        yield client


class Life:
    """A case as a client system sees it: open, send events, read it back, list the overdue."""

    def __init__(self, http: httpx.Client, policy: str, as_of: str, facts: dict) -> None:
        self.http = http
        self.policy = policy
        self.reference = f"life-{uuid.uuid4().hex[:12]}"
        body = {"policy": policy, "as_of": as_of, "facts": facts, "reference": self.reference}
        opened = http.post("/v1/cases", json=body)
        assert opened.status_code == 201, opened.text
        self.case = opened.json()
        self.case_id = self.case["case_id"]
        self.decision = self.case["decisions"][0]

    def event(self, as_of: str, facts: dict) -> dict:
        answer = self.http.post(
            f"/v1/cases/{self.case_id}/events", json={"facts": facts, "as_of": as_of}
        )
        assert answer.status_code == 201, answer.text
        self.decision = answer.json()
        self.case = self.http.get(f"/v1/cases/{self.case_id}").json()
        assert self.case["decisions"][-1]["decision_id"] == self.decision["decision_id"]
        return self.decision

    @property
    def state(self) -> str:
        return self.case["state"]

    def register(self) -> list[tuple[str, str, str | None]]:
        """The register as (name, status, done_at), in the order first listed."""
        return [(r["name"], r["status"], r["done_at"]) for r in self.case["obligations"]]

    def overdue(self, day: str) -> list[str] | None:
        """The case's overdue obligations at the start of `day`, as the overdue list gives
        them (None when the list does not hold the case)."""
        query = {"policy": self.policy, "reference": self.reference, "overdue_as_of": day}
        answer = self.http.get("/v1/cases", params=query)
        assert answer.status_code == 200, answer.text
        found = [c for c in answer.json()["items"] if c["case_id"] == self.case_id]
        return found[0]["overdue"] if found else None

    def new_actions(self) -> list[str]:
        return [a["code"] for a in self.decision["outcome"]["actions"] if a["new"]]

    def summary(self) -> dict[str, Any]:
        query = {"reference": self.reference}
        return self.http.get("/v1/cases", params=query).json()["items"][0]


def test_wme_complaint_acknowledged_late_outcome_issued_appeal_window_passes_closed(http):
    """WME 3 Stage 1: "We will acknowledge your communication within 5 working days". Stage 2:
    "A written confirmation of the outcome ... within 15 working days"; "you can appeal within
    ten working days of the date of the outcome". POLICIES.md (closed after outcome): a formal
    complaint closes once its appeal window has passed with no appeal."""
    life = Life(
        http,
        "wme",
        "2026-10-05T10:00:00Z",
        {"received_at": "2026-10-05", "kind": "complaint", "in_writing": True},
    )
    assert life.state == "open"
    assert life.register() == [("acknowledge", "open", None), ("outcome", "open", None)]
    assert [r["due"] for r in life.case["obligations"]] == ["2026-10-12", "2026-10-26"]
    assert life.overdue("2026-10-12") is None  # due on the 12th: in time all that day
    assert life.overdue("2026-10-13") == ["acknowledge"]

    # Acknowledged on the 14th, two days late: done, so no longer overdue.
    life.event("2026-10-14T09:00:00Z", {"acts": {"acknowledge": "2026-10-14"}})
    assert life.register() == [
        ("acknowledge", "late", "2026-10-14"),
        ("outcome", "open", None),
    ]
    assert life.new_actions() == []  # advise_investigator was owed already
    assert life.overdue("2026-10-14") is None
    assert life.overdue("2026-10-27") == ["outcome"]

    # The outcome is issued on the 23rd, in time: both obligations end, done.
    life.event(
        "2026-10-23T15:00:00Z",
        {"stage_two_outcome_at": "2026-10-23", "acts": {"outcome": "2026-10-23"}},
    )
    assert life.register() == [
        ("acknowledge", "late", "2026-10-14"),
        ("outcome", "met", "2026-10-23"),
    ]
    assert [d["name"] for d in life.decision["outcome"]["deadlines"]] == ["appeal_window_closes"]
    assert life.new_actions() == ["inform_outcome_and_appeal_right"]
    assert life.state == "open"  # the appeal window is still running
    assert life.overdue("2026-10-27") is None

    # Ten working days after the 23rd is 6 November; on the 9th no appeal came: closed.
    life.event("2026-11-09T10:00:00Z", {})
    assert life.decision["outcome"]["disposition"] == "close"
    assert life.state == "closed"
    assert life.register() == [
        ("acknowledge", "late", "2026-10-14"),
        ("outcome", "met", "2026-10-23"),
    ]
    assert life.summary()["state"] == "closed" and life.summary()["overdue"] == []


def test_wme_outcome_never_issued_in_time_lapses_when_its_stage_ends(http):
    """CONTRACT.md: an obligation no longer listed "becomes `lapsed` if it was never done"; a
    missed deadline never vanishes from the register."""
    life = Life(
        http,
        "wme",
        "2026-10-05T10:00:00Z",
        {"received_at": "2026-10-05", "kind": "complaint", "in_writing": True},
    )
    life.event("2026-10-28T09:00:00Z", {})
    assert life.register() == [("acknowledge", "overdue", None), ("outcome", "overdue", None)]
    # Unfiltered, a listing names what is overdue now (the server clock, after all these dates).
    assert life.summary()["overdue"] == ["acknowledge", "outcome"]
    life.event("2026-10-29T09:00:00Z", {"stage_two_outcome_at": "2026-10-29"})
    assert life.register() == [("acknowledge", "lapsed", None), ("outcome", "lapsed", None)]
    assert life.overdue("2026-11-02") is None  # lapsed is not overdue: the stage is over


def test_dwp_feedback_form_received_team_leader_acts_in_time_closed(http):
    """DWP steps 1–6: "On receipt of a complaints feedback form, team leaders should ... Take
    appropriate action within 48 hours to address the feedback". Step 10: "Where the action
    taken (or not taken) by the previous caseworker caused the case to escalate into a
    complaint, then feedback should be provided to them via their team leader"."""
    life = Life(
        http,
        "dwp-feedback",
        "2026-09-01T10:00:00Z",
        {
            "received_at": "2026-09-01",
            "escalation_causes": ["failed_to_keep_promises"],
            "issue_occurred_at": "2026-08-10",
            "caseworkers": [
                {"id": "cw-7", "last_opportunity_at": "2026-08-20", "team_leader": "tl-3"}
            ],
        },
    )
    assert life.register() == [] and life.state == "open"
    assert "send_feedback_form" in life.new_actions()

    # The form reaches the team leader at 10:00 UTC on the 10th: 48 hours to act.
    life.event("2026-09-10T11:00:00Z", {"form_received_at": "2026-09-10T10:00:00Z"})
    assert life.register() == [("team_leader_action", "open", None)]
    assert life.case["obligations"][0]["due"] == "2026-09-12T10:00:00Z"
    assert life.new_actions() == ["record_in_monthly_one_to_one", "save_to_personal_file"]
    assert life.overdue("2026-09-12") is None  # 10:00 UTC on the 12th is later that day
    assert life.overdue("2026-09-13") == ["team_leader_action"]

    # The team leader acts the next morning, in time: feedback given, the case closes.
    life.event("2026-09-11T12:00:00Z", {"acts": {"team_leader_action": "2026-09-11T09:00:00Z"}})
    assert life.decision["outcome"]["disposition"] == "close"
    assert life.register() == [("team_leader_action", "met", "2026-09-11T09:00:00Z")]
    assert life.state == "closed"
    assert life.overdue("2026-09-13") is None
    assert life.new_actions() == []


def test_serco_client_at_provider_unresolved_to_ssm_then_resolved_closed(http):
    """Serco clients 2: "Timeline for SP to respond to the client's inquiry regardless of
    method of contact: 1 business day". Clients 6: "When the Service Provider is unable to
    resolve the complaint with the client, Serco should be contacted immediately ... notify the
    client in writing, that the issue has been escalated to the SSM". CONTRACT.md: "when a Serco
    event changes `level`, the case's `unresolved_at_level` and `resolved` are dropped unless
    the event gives them"."""
    life = Life(
        http,
        "serco-es",
        "2026-08-04T14:00:00Z",
        {
            "received_at": "2026-08-04",
            "complainant_type": "client",
            "information_provided": ["name", "best_time_to_contact", "details"],
        },
    )
    assert life.register() == [("respond", "open", None)]
    assert life.case["obligations"][0]["due"] == "2026-08-05"
    assert life.overdue("2026-08-05") is None
    assert life.overdue("2026-08-06") == ["respond"]

    # The provider answered a day late and could not resolve it: escalated to the SSM.
    life.event(
        "2026-08-07T14:00:00Z", {"unresolved_at_level": True, "acts": {"respond": "2026-08-06"}}
    )
    assert life.decision["outcome"]["disposition"] == "escalate"
    assert life.decision["outcome"]["stage"] == "ssm"
    assert life.register() == [("respond", "late", "2026-08-06")]
    assert {"notify_serco_immediately", "notify_client_in_writing"} <= set(life.new_actions())
    assert life.overdue("2026-08-10") is None

    # The case is now at the SSM: the provider level's `unresolved_at_level` is dropped.
    life.event("2026-08-10T14:00:00Z", {"level": "ssm"})
    assert "unresolved_at_level" not in life.case["facts"]
    assert life.decision["outcome"]["disposition"] == "accept"
    assert life.decision["outcome"]["route"]["role"] == "employment_services_manager"
    assert life.state == "open"

    life.event("2026-08-20T14:00:00Z", {"resolved": True})
    assert life.decision["outcome"]["disposition"] == "close"
    assert life.state == "closed"
    assert life.register() == [("respond", "late", "2026-08-06")]
    assert life.summary()["stage"] == "ssm"


def test_cmg_review_plan_employer_response_window_resolution_closed(http):
    """CMG step 11: "issue the employer or agent a copy of the escalated complaints resolution
    plan CMSL8504 ... allow seven days for a response to be received". Step 16: "Close the
    complaint by creating an activity of type: Letter – Outbound, the system will issue the
    letter CMSL8506". Intro: "To close a complaint the employer/agent must agree that their
    matter has been resolved". CMG has no obligation deadline: the register stays empty."""
    life = Life(
        http,
        "cmg-employer-review",
        "2026-07-01T10:00:00Z",
        {
            "received_at": "2026-07-01",
            "complainant_type": "employer",
            "payment_related": True,
            "dissatisfied_with_resolution": True,
            "all_actions_taken_at_resolution": False,
        },
    )
    assert life.decision["outcome"]["stage"] == "review"
    assert "create_resolution_plan" in life.new_actions()
    assert life.register() == [] and life.state == "open"

    life.event("2026-07-06T10:00:00Z", {"resolution_plan_issued_at": "2026-07-06"})
    deadlines = life.decision["outcome"]["deadlines"]
    assert [(d["name"], d["kind"], d["due"]) for d in deadlines] == [
        ("employer_response", "window", "2026-07-13")
    ]
    assert life.new_actions() == []  # CMSL8504 is not owed twice
    assert life.register() == [] and life.overdue("2026-07-20") is None

    life.event(
        "2026-07-20T10:00:00Z",
        {"resolution_actions_complete": True, "employer_agrees_resolved": True},
    )
    assert life.decision["outcome"]["disposition"] == "close"
    assert life.new_actions() == ["issue_letter"]  # CMSL8506, the closure letter
    assert life.state == "closed"
    assert life.summary()["state"] == "closed"


def test_the_ledger_rebuilds_every_case_the_server_kept(server, http):
    """CONTRACT.md: "The register is derived from the ledger's decisions and can be rebuilt
    from them alone": after the lives above, `cases.rebuild.check` finds no difference."""
    from cases.rebuild import check
    from store import open_store

    Life(http, "wme", "2026-10-05T10:00:00Z", {"received_at": "2026-10-05", "kind": "comment"})
    store = open_store(server.data_dir)
    try:
        timezones = {p["id"]: p["timezone"] for p in http.get("/v1/policies").json()}
        assert check(store, timezones) is None
    finally:
        store.close()
