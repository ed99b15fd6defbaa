"""Cases over HTTP: facts merged from events, re-decided, the register, listing, erasure."""

from __future__ import annotations

from conftest import COMPLAINT, LIVE_COMPLAINT

OPENING = {**COMPLAINT, "personal": {"name": "A. Person", "email": "a@example.org"}}
LIVE_OPENING = {**LIVE_COMPLAINT, "personal": {"name": "A. Person", "email": "a@example.org"}}


def open_case(client, keys, opening: dict = OPENING) -> dict:
    response = client.post("/v1/cases", json=opening, headers=keys.decide)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_case_opens_with_its_first_decision_and_register(client, keys):
    case = open_case(client, keys)
    assert case["policy"] == "wme" and case["state"] == "open" and case["purpose"] == "test"
    assert case["personal"] == "sealed"
    assert len(case["decisions"]) == 1
    first = case["decisions"][0]
    assert first["case_id"] == case["case_id"] and first["purpose"] == "test"
    # CONTRACT.md: "on a case's decisions every action carries `new`"; the first owes all anew.
    assert first["outcome"]["actions"] and all(a["new"] for a in first["outcome"]["actions"])
    assert case["obligations"] == [
        {
            "name": "acknowledge",
            "rule": "acknowledge",
            "due": "2027-01-04",
            "done_at": None,
            "status": "open",
            "first_decision_id": first["decision_id"],
            "last_decision_id": first["decision_id"],
        },
        {
            "name": "outcome",
            "rule": "complaint",
            "due": "2027-01-18",
            "done_at": None,
            "status": "open",
            "first_decision_id": first["decision_id"],
            "last_decision_id": first["decision_id"],
        },
    ]


def test_a_case_opened_is_answered_as_it_is_stored(client, keys):
    """The answer to opening a case is built from what the write stored, not read back: it
    must be the case as `GET` reads it, and byte for byte what a replay of its Idempotency-Key
    sends (that one rendered from the store, inside the write's transaction)."""
    opening = {**OPENING, "reference": "REF-7", "complainant": "cmp-7"}
    headers = {**keys.decide, "Idempotency-Key": "open-7"}
    opened = client.post("/v1/cases", json=opening, headers=headers)
    assert opened.status_code == 201, opened.text
    replayed = client.post("/v1/cases", json=opening, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == opened.content
    for answer in (opened.json(), open_case(client, keys, opening)):
        read = client.get(f"/v1/cases/{answer['case_id']}", headers=keys.decide).json()
        assert {k: v for k, v in answer.items() if k != "decisions"} == {
            k: v for k, v in read.items() if k != "decisions"
        }
        assert [d["decision_id"] for d in answer["decisions"]] == [
            d["decision_id"] for d in read["decisions"]
        ]


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
    # The two obligations ended undone: "becomes `lapsed` if it was never done".
    assert [(r["name"], r["status"]) for r in now["obligations"]] == [
        ("acknowledge", "lapsed"),
        ("outcome", "lapsed"),
    ]
    assert [d["name"] for d in decision["outcome"]["deadlines"]] == ["appeal_window_closes"]


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


def test_overdue_lists_cases_with_an_obligation_overdue_at_the_date(client, keys):
    case = open_case(client, keys)

    def overdue(day: str) -> list[tuple[str, list[str]]]:
        response = client.get(f"/v1/cases?policy=wme&overdue_as_of={day}", headers=keys.decide)
        assert response.status_code == 200
        return [(c["case_id"], c["overdue"]) for c in response.json()["items"]]

    assert overdue("2027-01-04") == []  # acknowledge is due on the 4th: still in time
    assert overdue("2027-01-05") == [(case["case_id"], ["acknowledge"])]
    assert overdue("2027-01-19") == [(case["case_id"], ["acknowledge", "outcome"])]
    assert client.get("/v1/cases?overdue_as_of=soon", headers=keys.decide).status_code == 400
    assert client.get("/v1/cases?policy=nope", headers=keys.decide).status_code == 404


def test_a_missed_obligation_never_vanishes_from_the_days_it_was_overdue(client, keys):
    """CONTRACT.md version 2: "the overdue list reads that register, so a met deadline is never
    listed and a missed one never vanishes"; "with `overdue_as_of=D`, only cases with an
    obligation overdue at D". An acknowledgement done late, and an outcome whose stage ended
    without it (lapsed), stay overdue on the days they were, after the events that ended them;
    from the day they ended, they are not."""
    late, lapsed = open_case(client, keys)["case_id"], open_case(client, keys)["case_id"]

    def overdue(day: str) -> dict[str, list[str]]:
        response = client.get(f"/v1/cases?policy=wme&overdue_as_of={day}", headers=keys.decide)
        assert response.status_code == 200, response.text
        return {c["case_id"]: c["overdue"] for c in response.json()["items"]}

    both_missed = {late: ["acknowledge", "outcome"], lapsed: ["acknowledge", "outcome"]}
    assert overdue("2027-01-19") == both_missed
    # WME 4.2: acknowledged on 7 January, 5 working days due on the 4th: late.
    acted = {"facts": {"acts": {"acknowledge": "2027-01-07"}}, "as_of": "2027-01-20T10:00:00Z"}
    assert (
        client.post(f"/v1/cases/{late}/events", json=acted, headers=keys.decide).status_code == 201
    )
    # The stage 2 outcome issued on 25 January, no act recorded: both obligations lapse then.
    ended = {"facts": {"stage_two_outcome_at": "2027-01-25"}, "as_of": "2027-01-25T10:00:00Z"}
    assert (
        client.post(f"/v1/cases/{lapsed}/events", json=ended, headers=keys.decide).status_code
        == 201
    )
    statuses = {
        case_id: [
            o["status"]
            for o in client.get(f"/v1/cases/{case_id}", headers=keys.audit).json()["obligations"]
        ]
        for case_id in (late, lapsed)
    }
    assert statuses == {late: ["late", "overdue"], lapsed: ["lapsed", "lapsed"]}

    assert overdue("2027-01-05") == {late: ["acknowledge"], lapsed: ["acknowledge"]}
    assert overdue("2027-01-19") == {late: ["outcome"], lapsed: ["acknowledge", "outcome"]}
    assert overdue("2027-01-06") == {late: ["acknowledge"], lapsed: ["acknowledge"]}
    # Done on the 7th: a date act counts from its day's start (POLICIES.md, hours deadlines).
    assert overdue("2027-01-07") == {lapsed: ["acknowledge"]}
    assert overdue("2027-01-25") == {late: ["outcome"], lapsed: ["acknowledge", "outcome"]}
    assert overdue("2027-01-26") == {late: ["outcome"]}  # lapsed on the 25th


def test_an_obligation_listed_again_after_it_lapsed_was_not_overdue_in_between(client, keys):
    """POLICIES.md, WME: "holding letter | formal complaint and `complex` | deadline
    `holding_letter` = 10 working days after `received_at` | WME 3 Stage 2" (the seed: "Should
    this be the case a holding letter/email will be sent after ten working days"). An event that
    removes `complex` (CONTRACT.md: "JSON `null` removes a fact") ends the deadline, which
    lapses; one that gives it again lists it again. On the days between, it had lapsed: the
    overdue list does not name it then, and does before and after."""
    facts = {"received_at": "2026-03-02", "kind": "complaint", "category": "misconduct"}
    facts |= {"complex": True, "acts": {"acknowledge": "2026-03-03"}}
    body = {"policy": "wme", "as_of": "2026-03-03T10:00:00Z", "facts": facts}
    case_id = client.post("/v1/cases", json=body, headers=keys.decide).json()["case_id"]
    for as_of, change in (("2026-03-20T10:00:00Z", None), ("2026-03-25T10:00:00Z", True)):
        event = {"as_of": as_of, "facts": {"complex": change}}
        path = f"/v1/cases/{case_id}/events"
        assert client.post(path, json=event, headers=keys.decide).status_code == 201

    def overdue(day: str) -> list[str] | None:
        answer = client.get(f"/v1/cases?policy=wme&overdue_as_of={day}", headers=keys.audit)
        listed = [c["overdue"] for c in answer.json()["items"] if c["case_id"] == case_id]
        return listed[0] if listed else None

    case = client.get(f"/v1/cases/{case_id}", headers=keys.audit).json()
    assert [(o["name"], o["due"], o["status"]) for o in case["obligations"]] == [
        ("acknowledge", "2026-03-09", "met"),
        ("holding_letter", "2026-03-16", "overdue"),
        ("outcome", "2026-03-23", "overdue"),
    ]
    assert overdue("2026-03-19") == ["holding_letter"]  # due on the 16th, not yet sent
    assert overdue("2026-03-21") is None  # it lapsed on the 20th; the outcome is not due yet
    assert overdue("2026-03-24") == ["outcome"]
    assert overdue("2026-03-26") == ["holding_letter", "outcome"]  # listed again on the 25th


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


def test_a_decision_takes_no_case_id(client, keys):
    """CONTRACT.md (version 2): "`POST /v1/decisions` no longer takes `case_id`" and "a body
    field the schema does not name is refused (400)"."""
    case = open_case(client, keys)
    body = {**COMPLAINT, "case_id": case["case_id"]}
    refused = client.post("/v1/decisions", json=body, headers=keys.decide)
    assert refused.status_code == 400
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/case_id"]
    now = client.get(f"/v1/cases/{case['case_id']}", headers=keys.decide).json()
    assert len(now["decisions"]) == 1


def test_a_live_case_refuses_a_future_event_and_a_test_case_takes_it(client, keys):
    """A case's events inherit its purpose: a `live` decision's `as_of` is at most 5 minutes
    past the server clock; `test` may be dated anywhere."""
    live = open_case(client, keys, LIVE_OPENING)
    future = {"facts": {"complex": True}, "as_of": "2099-01-04T10:00:00Z"}
    refused = client.post(f"/v1/cases/{live['case_id']}/events", json=future, headers=keys.decide)
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/as_of"]
    test = open_case(client, keys)
    taken = client.post(f"/v1/cases/{test['case_id']}/events", json=future, headers=keys.decide)
    assert taken.status_code == 201, taken.text
    assert taken.json()["purpose"] == "test"


def test_cases_are_found_by_reference_and_state_and_paged(client, keys):
    opened = [open_case(client, keys, {**COMPLAINT, "reference": f"REF-{n % 2}"}) for n in range(5)]
    ids = [c["case_id"] for c in opened]

    def listed(query: str) -> list[str]:
        response = client.get(f"/v1/cases?{query}", headers=keys.decide)
        assert response.status_code == 200, response.text
        return [c["case_id"] for c in response.json()["items"]]

    assert listed("reference=REF-0") == ids[0::2]
    assert listed("reference=REF-1&state=open") == ids[1::2]
    assert listed("state=closed") == []
    seen: list[str] = []
    query = "limit=2"
    while True:
        page = client.get(f"/v1/cases?{query}", headers=keys.decide).json()
        assert len(page["items"]) <= 2
        seen += [c["case_id"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"limit=2&cursor={page['next_cursor']}"
    assert seen == ids
    item = client.get("/v1/cases?limit=1", headers=keys.decide).json()["items"][0]
    assert set(item) == {"case_id", "policy", "state", "opened_at", "stage", "route", "overdue"}
    assert item["route"] == {"role": "chief_executive", "assignee": None}
    for bad in ("limit=0", "limit=1001"):
        refused = client.get(f"/v1/cases?{bad}", headers=keys.decide)
        assert refused.status_code == 422
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/limit"]
    refused = client.get("/v1/cases?cursor=nonsense", headers=keys.decide)
    assert refused.status_code == 400
    refused = client.get("/v1/cases?state=shut", headers=keys.decide)
    assert refused.status_code == 400
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/state"]
    # A cursor is the last listed case's `<opened_at>_<case_id>`: any such text is a position.
    assert listed("cursor=2000-01-01T00:00:00.000000Z_0") == ids
    assert listed("cursor=2999-01-01T00:00:00.000000Z_0") == []


def test_personal_data_reads_back_until_erased(client, keys):
    case = open_case(client, keys)
    path = f"/v1/cases/{case['case_id']}/personal"
    found = client.get(path, headers=keys.decide)
    assert found.status_code == 200
    assert found.json()["personal"] == OPENING["personal"]
    assert client.delete(path, headers=keys.admin).status_code == 200
    assert client.get(path, headers=keys.decide).status_code == 404


def test_a_decide_key_reads_the_personal_data_of_its_own_cases_only(client, keys):
    """CONTRACT.md: `decide` is "a client system: decisions and cases, reading back what it
    recorded, the personal data of its cases". A client system is known by its keys: the one
    that opened the case, and any key of the same name (README); an admin reads every case's."""

    def new_key(name: str) -> dict[str, str]:
        made = client.post("/v1/keys", json={"role": "decide", "name": name}, headers=keys.admin)
        assert made.status_code == 201, made.text
        return {"Authorization": f"Bearer {made.json()['key']}"}

    crm, crm_again, other = new_key("crm"), new_key("crm"), new_key("another-crm")
    opened = client.post("/v1/cases", json=OPENING, headers=crm)
    assert opened.status_code == 201, opened.text
    path = f"/v1/cases/{opened.json()['case_id']}/personal"
    for reader in (crm, crm_again, keys.admin):
        answer = client.get(path, headers=reader)
        assert answer.status_code == 200, answer.text
        assert answer.json()["personal"] == OPENING["personal"]
    refused = client.get(path, headers=other)
    assert refused.status_code == 403
    assert "another client system" in refused.json()["detail"]
    assert "A. Person" not in refused.text
    assert client.get(path, headers=keys.decide).status_code == 403  # a key with no name


def test_the_audit_role_reads_cases_but_not_their_personal_data(client, keys):
    """CONTRACT.md (version 2): audit "reads everything recorded — decisions, receipts,
    policies, cases without personal data"; `GET /v1/cases/{case_id}/personal` is decide, admin."""
    case = open_case(client, keys)
    assert client.get(f"/v1/cases/{case['case_id']}", headers=keys.audit).status_code == 200
    assert (
        client.get("/v1/cases", headers=keys.audit).json()["items"][0]["case_id"]
        == (case["case_id"])
    )
    path = f"/v1/cases/{case['case_id']}/personal"
    assert client.get(path, headers=keys.audit).status_code == 403
    event = {"facts": {"complex": True}}
    assert (
        client.post(f"/v1/cases/{case['case_id']}/events", json=event, headers=keys.audit)
    ).status_code == 403


def test_a_nul_character_is_refused_at_the_edge_on_either_store(client, keys):
    """Bad input gets a problem naming the field, never a 500: PostgreSQL keeps no NUL
    (U+0000) in text, so a NUL in the path, a query parameter or a field kept as text
    (`reference`, `complainant`, a key's `name`) is refused on both stores alike (fuzzing the
    contract on PostgreSQL once answered 500)."""
    listed = client.get("/v1/cases?reference=a%00b", headers=keys.decide)
    assert listed.status_code == 400, listed.text
    assert [e["pointer"] for e in listed.json()["errors"]] == ["/reference"]
    assert client.get("/v1/cases/%00", headers=keys.decide).status_code == 400
    assert client.get("/v1/decisions?route=%00", headers=keys.audit).status_code == 400
    opening = {**OPENING, "reference": "REF\x00", "complainant": "cmp\x00"}
    opened = client.post("/v1/cases", json=opening, headers=keys.decide)
    assert opened.status_code == 400, opened.text
    assert [e["pointer"] for e in opened.json()["errors"]] == ["/reference", "/complainant"]
    named = client.post("/v1/keys", json={"role": "audit", "name": "a\x00"}, headers=keys.admin)
    assert named.status_code == 400 and named.json()["errors"][0]["pointer"] == "/name"
    assert client.get("/v1/cases", headers=keys.decide).json()["items"] == []  # none recorded
