"""Cases over HTTP: facts merged from events, re-decided, open deadlines, overdue, erasure."""

from __future__ import annotations

from conftest import COMPLAINT, LIVE_COMPLAINT

OPENING = {**COMPLAINT, "personal": {"name": "A. Person", "email": "a@example.org"}}
LIVE_OPENING = {**LIVE_COMPLAINT, "personal": {"name": "A. Person", "email": "a@example.org"}}


def open_case(client, keys, opening: dict = OPENING) -> dict:
    response = client.post("/v1/cases", json=opening, headers=keys.decide)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_case_opens_with_its_first_decision_and_deadlines(client, keys):
    case = open_case(client, keys)
    assert case["policy"] == "wme"
    assert case["personal"] == "sealed"
    assert len(case["decisions"]) == 1
    assert case["decisions"][0]["case_id"] == case["case_id"]
    assert [d["name"] for d in case["open_deadlines"]] == ["acknowledge", "outcome"]


def test_personal_data_never_reaches_the_ledger(client, keys):
    case = open_case(client, keys)
    index = case["decisions"][0]["ledger"]["index"]
    entry = client.get(f"/v1/ledger/entries/{index}", headers=keys.audit).json()
    assert "A. Person" not in str(entry)
    assert entry["body"]["personal_commitment"]


def test_an_event_merges_facts_and_decides_again(client, keys):
    case = open_case(client, keys, LIVE_OPENING)
    # The stage 2 outcome was issued on Friday 4 Dec 2026: the acknowledge and outcome deadlines
    # end and the appeal window opens for 10 working days: 7 Dec .. 18 Dec 2026.
    event = {"facts": {"stage_two_outcome_at": "2026-12-04"}, "as_of": "2026-12-05T10:00:00Z"}
    response = client.post(f"/v1/cases/{case['case_id']}/events", json=event, headers=keys.decide)
    assert response.status_code == 201, response.text
    decision = response.json()
    assert decision["case_id"] == case["case_id"]
    assert [(d["name"], d["due"]) for d in decision["outcome"]["deadlines"]] == [
        ("appeal_window_closes", "2026-12-18")
    ]
    now = client.get(f"/v1/cases/{case['case_id']}", headers=keys.decide).json()
    assert now["facts"] == {**LIVE_COMPLAINT["facts"], "stage_two_outcome_at": "2026-12-04"}
    assert [d["decision_id"] for d in now["decisions"]][-1] == decision["decision_id"]
    assert [d["name"] for d in now["open_deadlines"]] == ["appeal_window_closes"]


def test_a_null_fact_in_an_event_removes_it(client, keys):
    case = open_case(client, keys, LIVE_OPENING)
    event = {"facts": {"category": None}, "as_of": "2026-11-24T10:00:00Z"}
    response = client.post(f"/v1/cases/{case['case_id']}/events", json=event, headers=keys.decide)
    assert response.status_code == 201
    now = client.get(f"/v1/cases/{case['case_id']}", headers=keys.decide).json()
    assert "category" not in now["facts"]
    # Without the misconduct category the complaint goes to the service manager.
    assert response.json()["outcome"]["route"]["role"] == "service_manager"


def test_a_rejected_event_changes_nothing(client, keys):
    case = open_case(client, keys, LIVE_OPENING)
    event = {"facts": {"kind": "grumble"}, "as_of": "2026-11-24T10:00:00Z"}
    response = client.post(f"/v1/cases/{case['case_id']}/events", json=event, headers=keys.decide)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/facts/kind"]
    now = client.get(f"/v1/cases/{case['case_id']}", headers=keys.decide).json()
    assert now["facts"] == LIVE_COMPLAINT["facts"]
    assert len(now["decisions"]) == 1


def test_overdue_lists_cases_with_an_open_deadline_before_the_date(client, keys):
    case = open_case(client, keys)

    def overdue(day: str) -> list[str]:
        response = client.get(f"/v1/cases?policy=wme&overdue_as_of={day}", headers=keys.decide)
        assert response.status_code == 200
        return [c["case_id"] for c in response.json()]

    assert overdue("2027-01-04") == []  # acknowledge is due on the 4th: still in time
    assert overdue("2027-01-05") == [case["case_id"]]
    assert client.get("/v1/cases?overdue_as_of=soon", headers=keys.decide).status_code == 400
    assert client.get("/v1/cases?policy=nope", headers=keys.decide).status_code == 404


def test_erasing_personal_data_is_recorded_once(client, keys):
    case = open_case(client, keys)
    path = f"/v1/cases/{case['case_id']}/personal"
    erased = client.delete(path, headers=keys.admin)
    assert erased.status_code == 200
    index = erased.json()["ledger"]["index"]
    entry = client.get(f"/v1/ledger/entries/{index}", headers=keys.audit).json()
    assert entry["kind"] == "erasure"
    assert client.get(f"/v1/cases/{case['case_id']}", headers=keys.decide).json()["personal"] == (
        "erased"
    )
    assert client.delete(path, headers=keys.admin).status_code == 404


def test_an_unknown_case_is_404(client, keys):
    missing = "0" * 32
    assert client.get(f"/v1/cases/{missing}", headers=keys.decide).status_code == 404
    event = {"facts": {}}
    assert (
        client.post(f"/v1/cases/{missing}/events", json=event, headers=keys.decide).status_code
        == 404
    )


def nested(depth: int) -> dict:
    value: dict = {"leaf": "x"}
    for _ in range(depth - 1):
        value = {"inner": value}
    return value


def test_personal_data_as_deep_as_accepted_is_sealed_and_anything_deeper_is_400(client, keys):
    """CONTRACT.md (version 2): "JSON nested deeper than 32 levels (400)". The body itself is
    the first level; what the edge accepts, the ledger must be able to hash (no 500 after)."""
    deepest = {**COMPLAINT, "personal": nested(31)}
    assert client.post("/v1/cases", json=deepest, headers=keys.decide).status_code == 201
    too_deep = {**COMPLAINT, "personal": nested(32)}
    refused = client.post("/v1/cases", json=too_deep, headers=keys.decide)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["pointer"].startswith("/personal/inner")
