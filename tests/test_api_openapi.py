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
            if path == "/health":
                continue
            assert list(response["content"]) == [ERROR_MEDIA], (path, method, status)
        if operation.get("security"):
            assert {"401", "403"} <= set(errors), (path, method)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(errors), (path, method)


def test_closed_shapes_say_so():
    schemas = document()["components"]["schemas"]
    for name in ("DecisionRequest", "CaseRequest", "CaseEvent", "RecordedDecision", "Case"):
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["DecisionRequest"]["properties"]["facts"]["type"] == "object"


def test_the_server_serves_the_same_document(client):
    served = client.get("/schema/openapi.json").json()
    assert served == document()
