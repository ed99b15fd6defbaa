"""Reports over HTTP (`GET /v1/reports/{name}`, audit role) and `redress report`, on a real
data directory with decisions recorded through the API (CONTRACT.md "Reports (version 2)")."""

from __future__ import annotations

import csv
import io
import json

import pytest

from redress.cli import main

WME = {
    "policy": "wme",
    "as_of": "2026-01-06T09:00:00Z",
    "facts": {"received_at": "2026-01-05", "kind": "complaint", "category": "misconduct"},
}
CONCERN = {
    "policy": "wme",
    "as_of": "2026-01-07T09:00:00Z",
    "facts": {"received_at": "2026-01-07", "kind": "concern", "category": "service_quality"},
}


@pytest.fixture
def recorded(client, keys):
    """One WME case (a misconduct complaint) and one case-less concern, both in January."""
    assert client.post("/v1/cases", json=WME, headers=keys.decide).status_code == 201
    assert client.post("/v1/decisions", json=CONCERN, headers=keys.decide).status_code == 201
    return client


def test_register_names_the_ledger_state_it_was_computed_at(recorded, keys):
    """ "Every JSON report is {report, from, to, policy, tree_size, root_hash, …}", and the
    headers `Redress-Tree-Size` and `Redress-Root-Hash` name the same state."""
    answer = recorded.get(
        "/v1/reports/register?from=2026-01-01&to=2026-01-31&policy=wme", headers=keys.audit
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    checkpoint = recorded.get("/v1/ledger/checkpoint", headers=keys.audit).json()
    assert (body["tree_size"], body["root_hash"]) == (
        checkpoint["tree_size"],
        checkpoint["root_hash"],
    )
    assert answer.headers["Redress-Tree-Size"] == str(body["tree_size"])
    assert answer.headers["Redress-Root-Hash"] == body["root_hash"]
    assert (body["report"], body["from"], body["to"], body["policy"]) == (
        "register", "2026-01-01", "2026-01-31", "wme",
    )  # fmt: skip
    routes = sorted((r["kind"], r["route"], r["case_id"] is None) for r in body["rows"])
    assert routes == [("complaint", "chief_executive", False), ("concern", "staff_member", True)]


def test_csv_with_accept_text_csv(recorded, keys):
    answer = recorded.get(
        "/v1/reports/routing?to=2026-01-31", headers=keys.audit | {"Accept": "text/csv"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"  # once, not twice
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["section", "policy", "route", "stage", "disposition", "flag", "count"]
    assert ["route", "wme", "chief_executive", "stage_2", "accept", "", "1"] in rows
    assert answer.headers["Redress-Tree-Size"].isdigit()


def test_unknown_report_is_404_and_bad_values_are_named(client, keys):
    assert client.get("/v1/reports/nope", headers=keys.audit).status_code == 404
    # CONTRACT.md: "an unknown policy 404", in a report's query as in a decision's body.
    answer = client.get("/v1/reports/routing?policy=nope", headers=keys.audit)
    assert answer.status_code == 404
    assert [e["pointer"] for e in answer.json()["errors"]] == ["/policy"]
    answer = client.get("/v1/reports/register?from=2026-02-30&to=x", headers=keys.audit)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert {e["pointer"] for e in answer.json()["errors"]} == {"/from", "/to"}
    answer = client.get("/v1/reports/serco-quarterly", headers=keys.audit)
    assert [e["pointer"] for e in answer.json()["errors"]] == ["/quarter"]


@pytest.mark.parametrize(
    "query, pointer",
    [
        ("from=0001-01-01", "/from"),
        ("to=9999-12-31", "/to"),
        ("quarter=0000-Q1", "/quarter"),
        ("quarter=9999-Q4", "/quarter"),
    ],
)
def test_a_period_beyond_the_years_reports_cover_is_named_not_a_500(client, keys, query, pointer):
    """Bad input gets a problem naming the field, never a 500: a period's end is the next
    local day's start, and a Serco quarter brings the quarter before it, so a report's days lie
    within the years 1900-9998 (found by fuzzing the contract, which once answered 500)."""
    for name in ("register", "serco-quarterly", "timeliness"):
        answer = client.get(f"/v1/reports/{name}?{query}", headers=keys.audit)
        assert answer.status_code == 422, answer.text
        assert pointer in [e["pointer"] for e in answer.json()["errors"]]
    edge = "quarter=1900-Q1" if "quarter" in query else "from=1900-01-01&to=9998-12-31"
    for name in ("register", "serco-quarterly", "timeliness"):
        if name == "serco-quarterly" and "quarter" not in edge:
            continue
        assert client.get(f"/v1/reports/{name}?{edge}", headers=keys.audit).status_code == 200


def test_a_quarter_is_ascii_digits_and_nothing_after(client, keys):
    """`quarter` is `YYYY-QN` as the contract's pattern says (ECMA-262: ASCII digits, `$` the
    end): no trailing newline echoed into the report, no other script's digits."""
    for quarter in ("2026-Q1%0A", "%D9%A2%D9%A0%D9%A2%D9%A6-Q1"):
        answer = client.get(f"/v1/reports/serco-quarterly?quarter={quarter}", headers=keys.audit)
        assert answer.status_code == 422, answer.text
        assert [e["pointer"] for e in answer.json()["errors"]] == ["/quarter"]


def test_an_empty_query_value_is_named_not_read_as_absent(client, keys):
    """ "`from` and `to` … are optional (no bound)": leaving one out is the way to say so. An
    empty value fits none of the contract's forms (a date, a quarter, a policy id), so it is
    refused and named, as `openapi.yaml`'s `format`, `pattern` and `enum` say."""
    answer = client.get("/v1/reports/routing?from=&to=2026-01-31&policy=", headers=keys.audit)
    assert answer.status_code == 422
    assert [e["pointer"] for e in answer.json()["errors"]] == ["/from", "/policy"]
    assert all(e["message"].startswith("empty") for e in answer.json()["errors"])
    assert client.get("/v1/reports/routing?to=2026-01-31", headers=keys.audit).status_code == 200


def test_reports_need_the_audit_role(client, keys):
    assert client.get("/v1/reports/register").status_code == 401
    assert client.get("/v1/reports/register", headers=keys.decide).status_code == 403
    assert client.get("/v1/reports/register", headers=keys.admin).status_code == 200


def test_cli_report_matches_the_api(recorded, keys, data_dir, capsys):
    """`redress report NAME … --data-dir DIR` prints the same report as the API."""
    over_http = recorded.get("/v1/reports/register?policy=wme", headers=keys.audit).json()
    assert main(["report", "register", "--policy", "wme", "--data-dir", str(data_dir)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == over_http
    assert main(["report", "timeliness", "--format", "csv", "--data-dir", str(data_dir)]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("policy,obligation,met,late,open,overdue,lapsed")
    # CONTRACT.md: CSV carries the ledger state "in the headers `Redress-Tree-Size` and
    # `Redress-Root-Hash`"; the CLI says them on stderr, stdout being the CSV.
    state = recorded.get("/v1/reports/timeliness", headers=keys.audit).headers
    assert printed.err.splitlines() == [
        f"Redress-Tree-Size: {state['Redress-Tree-Size']}",
        f"Redress-Root-Hash: {state['Redress-Root-Hash']}",
    ]
    assert main(["report", "register", "--from", "soon", "--data-dir", str(data_dir)]) == 2
    assert "--from" in capsys.readouterr().err


def test_an_audit_key_reads_every_report_as_json_and_csv(recorded, keys):
    import reports

    for name in reports.REPORT_NAMES:
        query = "?quarter=2026-Q1" if name == "serco-quarterly" else ""
        as_json = recorded.get(f"/v1/reports/{name}{query}", headers=keys.audit)
        assert as_json.status_code == 200, name
        assert as_json.json()["report"] == name
        as_csv = recorded.get(
            f"/v1/reports/{name}{query}", headers=keys.audit | {"Accept": "text/csv"}
        )
        assert as_csv.status_code == 200 and as_csv.text.count("\r\n") >= 1, name


def test_http_reports_equal_the_pure_reports_over_the_whole_ledger(recorded, keys):
    """The API reads the decision index and case tables; the pure functions over every ledger
    entry (`reports.source.read_snapshot`) are the specification it must equal."""
    import reports
    import rules
    from reports.source import read_snapshot

    services = recorded.app.state.services
    for name in reports.REPORT_NAMES:
        values = {"quarter": "2026-Q1"} if name == "serco-quarterly" else {}
        query = "?quarter=2026-Q1" if values else ""
        over_http = recorded.get(f"/v1/reports/{name}{query}", headers=keys.audit).json()
        parsed = reports.parse_query(name, values, rules.policy_ids())
        snapshot = read_snapshot(services.ledger, services.cases)
        expected = reports.compute(name, snapshot, parsed)
        if name == "register":
            assert len(expected["rows"]) == 2
        assert over_http == expected, name


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/csv", "text/csv"),
        ("application/json, text/csv;q=0.5", "application/json"),
        ("text/csv;q=0.9, application/json;q=0.1", "text/csv"),
        ("*/*", "application/json"),
        ("application/xml", "application/json"),
    ],
)
def test_accept_is_weighed_by_its_q_values(recorded, keys, accept, media):
    """RFC 9110 section 12.5.1: the media type with the highest weight wins."""
    answer = recorded.get("/v1/reports/routing", headers={**keys.audit, "Accept": accept})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(media)
