"""POST /v1/decisions and reading decisions back, through the app on a real data directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from conftest import COMPLAINT

PROBLEM_JSON = "application/problem+json"


def tree_size(client, keys) -> int:
    return client.get("/v1/ledger/checkpoint", headers=keys.audit).json()["tree_size"]


def test_a_decision_is_answered_with_its_ledger_receipt(client, keys):
    response = client.post("/v1/decisions", json=COMPLAINT, headers=keys.decide)
    assert response.status_code == 201, response.text
    decision = response.json()
    # Received Wed 23 Dec 2026; 25, 28 Dec and 1 Jan are bank holidays in England: the 5th
    # working day after is Mon 4 Jan, the 15th is Mon 18 Jan (POLICIES.md, wme).
    assert decision["policy"] == "wme"
    assert decision["as_of"] == "2026-12-24T09:00:00Z"
    assert decision["case_id"] is None
    assert decision["outcome"]["route"] == {"role": "chief_executive", "assignee": None}
    assert [(d["name"], d["due"]) for d in decision["outcome"]["deadlines"]] == [
        ("acknowledge", "2027-01-04"),
        ("outcome", "2027-01-18"),
    ]
    receipt = decision["ledger"]
    assert receipt["tree_size"] == receipt["index"] + 1
    entry = client.get(f"/v1/ledger/entries/{receipt['index']}", headers=keys.audit).json()
    assert entry["kind"] == "decision"
    assert entry["entry_hash"] == receipt["entry_hash"]
    assert entry["body"]["facts"] == COMPLAINT["facts"]


def test_a_recorded_decision_reads_back_the_same(client, keys):
    decision = client.post("/v1/decisions", json=COMPLAINT, headers=keys.decide).json()
    again = client.get(f"/v1/decisions/{decision['decision_id']}", headers=keys.decide)
    assert again.status_code == 200
    assert again.json()["outcome"] == decision["outcome"]
    assert again.json()["ledger"]["index"] == decision["ledger"]["index"]


def test_a_receipt_is_a_tlog_proof_in_plain_text(client, keys):
    decision = client.post("/v1/decisions", json=COMPLAINT, headers=keys.decide).json()
    receipt = client.get(f"/v1/decisions/{decision['decision_id']}/receipt", headers=keys.decide)
    assert receipt.status_code == 200
    assert receipt.headers["content-type"].startswith("text/plain")
    assert receipt.text.startswith("c2sp.org/tlog-proof@v1")
    assert f"index {decision['ledger']['index']}" in receipt.text


def test_without_as_of_the_server_clock_decides(client, keys):
    facts = {"received_at": "2026-01-05", "kind": "concern"}
    response = client.post(
        "/v1/decisions", json={"policy": "wme", "facts": facts}, headers=keys.decide
    )
    assert response.status_code == 201
    assert response.json()["as_of"].endswith("Z")


def test_bad_input_names_every_offending_field_and_records_nothing(client, keys):
    before = tree_size(client, keys)
    body = {
        "policy": "wme",
        "facts": {"received_at": "2026-12-23", "kind": "grumble"},
        "as_of": "2026-12-24T09:00:00",
        "colour": "red",
    }
    response = client.post("/v1/decisions", json=body, headers=keys.decide)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == 400
    pointers = {e["pointer"] for e in problem["errors"]}
    assert {"/colour", "/as_of", "/facts/kind"} <= pointers
    assert tree_size(client, keys) == before


def test_facts_the_policy_rejects_are_422_and_record_nothing(client, keys):
    before = tree_size(client, keys)
    body = {**COMPLAINT, "facts": {"received_at": "2027-01-01", "complex": "yes"}}
    response = client.post("/v1/decisions", json=body, headers=keys.decide)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    # From the future (after as_of), not a boolean, and `kind` missing.
    assert {"/facts/received_at", "/facts/complex", "/facts/kind"} <= pointers
    assert tree_size(client, keys) == before


def test_an_unknown_policy_is_404(client, keys):
    response = client.post(
        "/v1/decisions", json={**COMPLAINT, "policy": "nope"}, headers=keys.decide
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


def test_an_unknown_policy_is_404_whatever_its_facts_hold(client, keys):
    """CONTRACT.md: "an unknown policy 404": facts no policy could take (a number the ledger
    cannot record) do not turn it into a 422, for a decision or a case."""
    for path in ("/v1/decisions", "/v1/cases"):
        body = {"policy": "serco", "facts": {"level": 10**30}}
        response = client.post(path, json=body, headers=keys.decide)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["errors"][0]["pointer"] == "/policy"


def test_a_body_over_one_mebibyte_is_413(client, keys):
    before = tree_size(client, keys)
    padding = "x" * (1024 * 1024)
    body = json.dumps({**COMPLAINT, "facts": {**COMPLAINT["facts"], "note": padding}})
    response = client.post(
        "/v1/decisions",
        content=body,
        headers={**keys.decide, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert "1 MiB" in response.json()["detail"]
    assert tree_size(client, keys) == before


def test_a_body_that_is_not_json_is_400(client, keys):
    response = client.post(
        "/v1/decisions",
        content=b"{not json",
        headers={**keys.decide, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    json_headers = {**keys.decide, "Content-Type": "application/json"}
    for body in (b"[]", b'"wme"', b"null"):
        assert client.post("/v1/decisions", content=body, headers=json_headers).status_code == 400


def test_an_unknown_decision_is_404(client, keys):
    response = client.get("/v1/decisions/" + "0" * 32, headers=keys.decide)
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"


def test_a_decision_takes_no_case_id_any_more(client, keys):
    """CONTRACT.md v2: "`POST /v1/decisions` no longer takes `case_id`" (decisions on a case go
    through its events)."""
    body = {**COMPLAINT, "case_id": "f" * 32}
    response = client.post("/v1/decisions", json=body, headers=keys.decide)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"pointer": "/case_id", "message": "unknown field"}]


def test_an_unknown_policy_is_404_naming_the_policies_and_the_nearest(client, keys):
    response = client.post(
        "/v1/decisions", json={**COMPLAINT, "policy": "wmee"}, headers=keys.decide
    )
    assert response.status_code == 404
    (error,) = response.json()["errors"]
    assert error["pointer"] == "/policy"
    assert "'wme', 'dwp-feedback', 'cmg-employer-review', 'serco-es'" in error["message"]
    assert error["message"].endswith("did you mean 'wme'?")


def test_a_bad_purpose_names_the_allowed_values(client, keys):
    response = client.post(
        "/v1/decisions", json={**COMPLAINT, "purpose": "lve"}, headers=keys.decide
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "pointer": "/purpose",
            "message": "'lve' is not allowed: expected one of 'live', 'test', 'preview'; "
            "did you mean 'live'?",
        }
    ]


def test_the_server_builds_this_years_holidays_before_its_first_decision(data_dir, keys):
    from litestar.testing import TestClient

    from api.app import create_app
    from rules.calendar import CALENDARS, _holidays_in, is_holiday

    _holidays_in.cache_clear()
    with TestClient(create_app(data_dir)):
        built = _holidays_in.cache_info()
        for name in CALENDARS:
            is_holiday(datetime.now(UTC).date(), name)
        assert _holidays_in.cache_info().misses == built.misses


def test_each_request_is_logged_as_one_json_line_with_its_ids(client, keys, capsys):
    capsys.readouterr()
    decision = client.post("/v1/decisions", json=COMPLAINT, headers=keys.decide)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    requests = [line for line in lines if line.get("message") == "request"]
    assert requests[-1]["decision_id"] == decision.json()["decision_id"]
    assert requests[-1]["request_id"] == decision.headers["x-request-id"]
    assert requests[-1]["status"] == 201


def test_values_the_ledger_cannot_hash_are_422_and_record_nothing(client, keys):
    before = tree_size(client, keys)
    facts = {"received_at": "2026-12-01", "previous_complaints_same_issue": 2**60}
    body = {"policy": "dwp-feedback", "facts": facts, "as_of": "2026-12-24T09:00:00Z"}
    response = client.post("/v1/decisions", json=body, headers=keys.decide)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/facts/previous_complaints_same_issue"
    personal = {**COMPLAINT, "personal": {"height_m": 1.75}}
    response = client.post("/v1/cases", json=personal, headers=keys.decide)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/personal/height_m"
    assert tree_size(client, keys) == before
    assert client.get("/v1/cases", headers=keys.decide).json()["items"] == []


def test_parameter_errors_say_what_is_accepted_without_internals(client, keys):
    """Issue 11: "`27/11/2026` gets a message that omits the accepted form; bad query
    parameters get the pointer `/ParamType.QUERY/overdue_as_of`"."""
    answer = client.get("/v1/cases?overdue_as_of=27/11/2026", headers=keys.decide)
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {"pointer": "/overdue_as_of", "message": "expected a date YYYY-MM-DD, e.g. 2026-11-27"}
    ]
    assert "ParamType" not in answer.text
    answer = client.get("/v1/ledger/entries?limit=abc", headers=keys.audit)
    assert answer.json()["errors"] == [
        {
            "pointer": "/limit",
            "message": "expected an integer in decimal digits, e.g. 42 (no leading zeros)",
        }
    ]
    # The contract's integers are digits: msgspec alone would read 1e3 as 1000 and 2.0 as 2.
    answer = client.get("/v1/ledger/proofs/inclusion?index=0&tree_size=2.0", headers=keys.audit)
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {
            "pointer": "/tree_size",
            "message": "expected an integer, got a number with a fraction or an exponent",
        }
    ]
    assert client.get("/v1/ledger/entries?limit=1e3", headers=keys.audit).status_code == 400
    unknown = client.get("/v1/cases?policy=serco", headers=keys.decide)
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["message"].endswith("did you mean 'serco-es'?")


def test_every_problem_has_a_type_title_status_and_detail(client, keys):
    """CONTRACT.md: "Errors are RFC 9457 problem details (`application/problem+json`: `type`,
    `title`, `status`, `detail`, and for bad input `errors: [{pointer, message}]`...)"."""
    answers = {
        "no key": client.get("/v1/policies"),
        "no such route": client.get("/v1/nope", headers=keys.audit),
        "no such method": client.put("/v1/decisions", headers=keys.decide),
        "no such entry": client.get("/v1/ledger/entries/99999999", headers=keys.audit),
        "bad input": client.post(
            "/v1/decisions", json={**COMPLAINT, "extra": 1}, headers=keys.decide
        ),
        "facts that do not fit": client.post(
            "/v1/decisions", json={**COMPLAINT, "facts": {"kind": "complaint"}}, headers=keys.decide
        ),
        "too large": client.post(
            "/v1/decisions",
            content=b" " * (1 << 20) + b"{}",
            headers={**keys.decide, "Content-Type": "application/json"},
        ),
    }
    for what, answer in answers.items():
        assert answer.headers["content-type"] == PROBLEM_JSON, what
        problem = answer.json()
        assert problem["type"] == "about:blank", what
        assert problem["status"] == answer.status_code, what
        assert problem["title"] and problem["detail"], what
        # `errors` names fields at fault; where none is, there is no empty list.
        assert ("errors" in problem) == (what in ("bad input", "facts that do not fit")), what
    # RFC 9457 4.2.1: an `about:blank` problem's title is the status's phrase, RFC 9110's.
    titles = {what: answer.json()["title"] for what, answer in answers.items()}
    assert titles["facts that do not fit"] == "Unprocessable Content"
    assert titles["too large"] == "Content Too Large"
    assert titles["no such method"] == "Method Not Allowed"
    assert answers["no such method"].json()["detail"] == "this path does not take PUT"
    assert answers["bad input"].json()["errors"][0]["pointer"] == "/extra"


# GET /v1/decisions: "recorded decisions, newest first, filtered; {items, next_cursor}" -------


def record(client, keys, **changes) -> dict:
    body = {**COMPLAINT, **changes}
    response = client.post("/v1/decisions", json=body, headers=keys.decide)
    assert response.status_code == 201, response.text
    return response.json()


def test_recorded_decisions_list_newest_first_and_page_with_a_cursor(client, keys):
    ids = [record(client, keys)["decision_id"] for _ in range(5)]
    first = client.get("/v1/decisions?limit=2", headers=keys.audit)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [d["decision_id"] for d in page["items"]] == ids[::-1][:2]
    seen = [d["decision_id"] for d in page["items"]]
    while page["next_cursor"] is not None:
        page = client.get(
            f"/v1/decisions?limit=2&cursor={page['next_cursor']}", headers=keys.decide
        ).json()
        seen += [d["decision_id"] for d in page["items"]]
    assert seen == ids[::-1]


def test_decisions_filter_by_policy_route_flag_purpose_and_dates(client, keys):
    serious = record(client, keys)  # a misconduct complaint: chief executive, flag serious
    concern = record(
        client,
        keys,
        facts={"received_at": "2026-12-21", "kind": "concern", "category": "delay"},
        as_of="2026-12-22T09:00:00Z",
    )
    by = lambda query: [  # noqa: E731
        d["decision_id"]
        for d in client.get(f"/v1/decisions?{query}", headers=keys.audit).json()["items"]
    ]
    assert by("policy=wme") == [concern["decision_id"], serious["decision_id"]]
    assert by("policy=serco-es") == []
    assert by("route=chief_executive") == [serious["decision_id"]]
    assert by("flag=serious") == [serious["decision_id"]]
    assert by("stage=informal") == [concern["decision_id"]]
    assert by("purpose=live") == []
    assert by("purpose=test") == [concern["decision_id"], serious["decision_id"]]
    assert by("from=2026-12-23&to=2026-12-24") == [serious["decision_id"]]
    assert by("to=2026-12-22") == [concern["decision_id"]]


def test_bad_listing_parameters_are_named(client, keys):
    for query, status, pointer in [
        ("limit=0", 422, "/limit"),
        ("limit=1001", 422, "/limit"),
        ("from=27/11/2026", 400, "/from"),
        ("purpose=later", 400, "/purpose"),
        ("policy=nope", 404, "/policy"),
        # A period that ends before it starts: refused as the reports refuse it, not an
        # empty page that reads as "no decisions then".
        ("from=2026-11-10&to=2026-11-01", 422, "/to"),
    ]:
        response = client.get(f"/v1/decisions?{query}", headers=keys.audit)
        assert response.status_code == status, (query, response.text)
        assert response.headers["content-type"] == PROBLEM_JSON
        assert pointer in [e["pointer"] for e in response.json()["errors"]], response.text


def test_an_instant_whose_utc_year_is_out_of_range_is_named_not_a_500(client, keys):
    """Bad input is 400 or 422, never 500: `as_of` is recorded in UTC, so its UTC year must be
    within the supported years too (1900-01-01T00:00:00+14:00 is 1899 in UTC; found by
    fuzzing, which once got a 500 for it on every write)."""
    early = "1900-01-01T00:00:00+14:00"
    body = {
        "policy": "wme",
        "as_of": early,
        "facts": {"received_at": "1900-01-01", "kind": "concern"},
    }
    before = tree_size(client, keys)
    for path in ("/v1/decisions", "/v1/cases"):
        answer = client.post(path, json=body, headers=keys.decide)
        assert answer.status_code == 422, answer.text
        (error,) = answer.json()["errors"]
        assert error["pointer"] == "/as_of" and "in UTC" in error["message"]
    late = {**body, "purpose": "test", "as_of": "2999-12-31T23:00:00-01:00"}
    late["facts"] = {**body["facts"], "received_at": "2999-12-31"}
    assert client.post("/v1/decisions", json=late, headers=keys.decide).status_code == 422
    assert tree_size(client, keys) == before


def test_a_deadline_computed_past_the_years_of_input_is_answered(client, keys):
    """DWP: the team leader acts "within 48 hours" of the form; a form received on the last day
    of the supported years gives a due in the year after, which the service computes, records
    and reads back (it answered 500 once, reading that due as if it were input)."""
    body = {
        "policy": "dwp-feedback",
        "purpose": "test",
        "as_of": "2999-12-31T12:00:00Z",
        "facts": {
            "received_at": "2999-12-31",
            "handled_by": "resolution",
            "escalation_causes": ["failed_to_keep_informed"],
            "issue_occurred_at": "2999-12-01",
            "caseworkers": [{"id": "a", "last_opportunity_at": "2999-12-10"}],
            "form_received_at": "2999-12-31T11:00:00Z",
        },
    }
    decided = client.post("/v1/decisions", json=body, headers=keys.decide)
    assert decided.status_code == 201, decided.text
    dues = {d["name"]: d["due"] for d in decided.json()["outcome"]["deadlines"]}
    assert dues["team_leader_action"] == "3000-01-02T11:00:00Z"
    case = client.post("/v1/cases", json=body, headers=keys.decide)
    assert case.status_code == 201, case.text
    assert client.get(f"/v1/cases/{case.json()['case_id']}", headers=keys.audit).status_code == 200
    listed = client.get("/v1/cases?overdue_as_of=2999-12-31", headers=keys.audit)
    assert listed.status_code == 200


def test_dates_are_ascii_digits_and_nothing_after(client, keys):
    """A date fact is `YYYY-MM-DD` or an RFC 3339 date-time: not another script's digits, and
    no trailing newline (Python's `\\d` and `$` admit both)."""
    for received in ("2026-11-23T10:00:00Z\n", "\u0662\u0660\u0662\u0666-11-23"):
        body = {**COMPLAINT, "facts": {**COMPLAINT["facts"], "received_at": received}}
        answer = client.post("/v1/decisions", json=body, headers=keys.decide)
        assert answer.status_code in (400, 422), answer.text
        assert [e["pointer"] for e in answer.json()["errors"]] == ["/facts/received_at"]
