"""The committed openapi.yaml is what the app generates, and it documents every error."""

from __future__ import annotations

import yaml

from api.openapi import OPENAPI_YAML, generated_yaml

ERROR_MEDIA = "application/problem+json"


def document() -> dict:
    return yaml.safe_load(OPENAPI_YAML.read_text())


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_committed_document_is_what_the_app_generates():
    assert OPENAPI_YAML.read_text() == generated_yaml(), (
        "openapi.yaml is stale: run `python -m api.openapi`"
    )


def test_every_error_is_documented_as_problem_details():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    for path, method, operation in operations(doc):
        errors = {s: r for s, r in operation["responses"].items() if int(s) >= 400}
        assert "500" in errors, (path, method)
        for status, response in errors.items():
            if "content" not in response:  # a 500 carries no promise of a body
                continue
            assert list(response["content"]) == [ERROR_MEDIA], (path, method, status)
        if operation.get("security"):
            assert {"401", "403"} <= set(errors), (path, method)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(errors), (path, method)


def test_closed_shapes_say_so():
    schemas = document()["components"]["schemas"]
    for name in ("WmeDecisionRequest", "SercoEsCaseRequest", "CaseEvent", "RecordedDecision"):
        assert schemas[name]["additionalProperties"] is False, name
    for name in ("Case", "KeyRequest", "WmeFacts", "DwpFeedbackFacts"):
        assert schemas[name]["additionalProperties"] is False, name


def test_the_requests_are_unions_discriminated_by_policy_with_typed_facts():
    """Issue 11: "each policy's facts as its own schema (names, types, formats, enums,
    required), the decision and case requests a union discriminated by `policy`"."""
    import rules
    from api.typed import component_name

    schemas = document()["components"]["schemas"]
    for request in ("DecisionRequest", "CaseRequest"):
        union = schemas[request]
        assert union["discriminator"]["propertyName"] == "policy"
        assert set(union["discriminator"]["mapping"]) == set(rules.policy_ids())
        assert len(union["oneOf"]) == len(rules.policy_ids())
    for policy in rules.policy_ids():
        name = component_name(policy)
        facts = schemas[f"{name}Facts"]
        listed = rules.policy_detail(policy).facts
        assert list(facts["properties"]) == [f.name for f in listed]
        assert facts["required"] == [f.name for f in listed if f.required]
        branch = schemas[f"{name}DecisionRequest"]["properties"]
        assert branch["policy"]["enum"] == [policy]
        assert branch["facts"] == {"$ref": f"#/components/schemas/{name}Facts"}
        assert branch["as_of"]["anyOf"][0]["format"] == "date-time"
        obligations = [d.name for d in rules.vocabulary(policy).deadlines if d.kind == "obligation"]
        acts = facts["properties"]["acts"]["anyOf"][0]
        assert set(acts["properties"]) == set(obligations)
    wme = schemas["WmeFacts"]["properties"]
    assert wme["received_at"]["anyOf"] == [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
    ]
    assert wme["final_date"]["anyOf"][0]["format"] == "date"
    assert "misconduct" in wme["category"]["anyOf"][0]["enum"]


def test_the_decision_says_which_values_it_can_carry():
    import rules

    schemas = document()["components"]["schemas"]
    roles = set().union(*(rules.vocabulary(p).roles for p in rules.policy_ids()))
    assert set(schemas["Route"]["properties"]["role"]["enum"]) == roles
    actions = set().union(*(rules.vocabulary(p).actions for p in rules.policy_ids()))
    assert set(schemas["Action"]["properties"]["code"]["enum"]) == actions
    assert "acknowledge" in schemas["Deadline"]["properties"]["name"]["enum"]
    assert "serious" in schemas["Outcome"]["properties"]["flags"]["items"]["enum"]


def test_operations_have_readable_ids_and_every_post_takes_an_idempotency_key():
    doc = document()
    ids = {operation["operationId"] for _, _, operation in operations(doc)}
    assert {"createDecision", "openCase", "recordCaseEvent", "getCase", "listCases"} <= ids
    assert {"listKeys", "createKey", "revokeKey", "getCasePersonal"} <= ids
    for path, method, operation in operations(doc):
        if method != "post":
            continue
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and header["schema"]["maxLength"] == 128, path
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"], path


def test_the_server_serves_the_same_document(client):
    served = client.get("/schema/openapi.json").json()
    assert served == document()


def test_an_events_facts_name_every_policys_facts_and_nothing_else():
    """CONTRACT.md: "A body field the schema does not name is refused (400)". An event's schema
    cannot know its case's policy, so it names each fact some policy takes, each nullable (null
    removes a fact), and no other."""
    import rules

    facts = document()["components"]["schemas"]["CaseEvent"]["properties"]["facts"]
    assert facts["additionalProperties"] is False
    taken = {f.name for p in rules.policy_ids() for f in rules.policy_detail(p).facts}
    assert set(facts["properties"]) == taken
    for name, schema in facts["properties"].items():
        assert {"type": "null"} in schema["anyOf"], name
    # A name two policies take with different values accepts either policy's.
    complainant = facts["properties"]["complainant_type"]["anyOf"]
    values = {v for branch in complainant for v in branch.get("enum", [])}
    assert {"employer", "agent", "client", "service_provider", "sa_partner"} <= values


def test_every_operation_documents_the_400_any_request_can_get(client, keys):
    """CONTRACT.md ("HTTP API"): two `Authorization` headers are a 400, whatever the operation
    (tests/test_hostile.py); so is a query parameter given twice. The edge refuses both
    before any operation's own parameters are read, so the document must say so of every
    operation, even one that takes no parameter (a fuzzer told otherwise flags the answer as
    undocumented)."""
    for path, method, operation in operations(document()):
        target = path.replace("{", "").replace("}", "") + "?a=1&a=2"
        answer = client.request(method.upper(), target, headers=keys.admin)
        assert answer.status_code == 400, (path, method, answer.text)
        assert "400" in operation["responses"], (path, method)


def test_every_write_documents_the_503_of_a_busy_store_with_retry_after():
    """CONTRACT.md: "A store that stays busy for 5 s answers 503 with `Retry-After`"; any
    operation that reads the store may also find it unusable (503). A write's 503 carries the
    header (tests/test_store_hardening.py has one answered so)."""
    for path, method, operation in operations(document()):
        if not path.startswith("/v1/"):
            continue
        unavailable = operation["responses"].get("503")
        assert unavailable is not None, (path, method)
        if method in ("post", "delete"):
            assert "Retry-After" in unavailable["headers"], (path, method)
