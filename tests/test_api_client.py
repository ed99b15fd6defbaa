"""A client generated from the committed openapi.yaml by openapi-python-client, as a client
developer would make one, opens a case under each policy and records an act on it.

Issue 11: "a client generated from `openapi.yaml` … is used in a test to open a case under each
policy and record an act". The client is generated at test time, offline, into a temporary
directory; a real server answers on loopback.
"""

from __future__ import annotations

import datetime
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import rules
from api.openapi import OPENAPI_YAML
from api.typed import FACT_EXAMPLES, component_name

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
OPENED_AT = datetime.datetime(2026, 11, 24, 9, tzinfo=datetime.UTC)
ACTED_AT = datetime.datetime(2026, 11, 25, 9, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def redress_client(tmp_path_factory: pytest.TempPathFactory):
    """The package `redress_client`, generated from openapi.yaml."""
    root = tmp_path_factory.mktemp("generated")
    made = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            str(OPENAPI_YAML),
            "--output-path",
            str(root / "redress_client"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Unable to" not in made.stdout, made.stdout  # every schema became a model
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("redress_client")
    finally:
        sys.path.remove(str(root))


def obligations(policy: str) -> list[str]:
    return [d.name for d in rules.vocabulary(policy).deadlines if d.kind == "obligation"]


def test_a_generated_client_opens_a_case_under_each_policy_and_records_an_act(
    redress_client, live_server
):
    from redress_client import AuthenticatedClient, models
    from redress_client.api.cases import get_case, open_case, record_case_event

    client = AuthenticatedClient(base_url=live_server.base_url, token=live_server.admin_key)
    for policy in rules.policy_ids():
        name = component_name(policy)
        facts = getattr(models, f"{name}Facts").from_dict(FACT_EXAMPLES[policy])
        request = getattr(models, f"{name}CaseRequest")(
            policy=getattr(models, f"{name}CaseRequestPolicy")(policy),
            facts=facts,
            as_of=OPENED_AT,
            reference=f"crm-{policy}",
        )
        opened = open_case.sync_detailed(client=client, body=request)
        assert opened.status_code == 201, (policy, opened.content)
        case = opened.parsed
        assert isinstance(case, models.Case) and case.policy.value == policy

        # The act: the policy's first obligation done (CMG's policy has none: `acts` stays {}).
        done = {name: datetime.date(2026, 11, 24) for name in obligations(policy)[:1]}
        acts = {k: v.isoformat() for k, v in done.items()}
        facts = models.CaseEventFacts.from_dict({"acts": acts})
        event = models.CaseEvent(facts=facts, as_of=ACTED_AT)
        decided = record_case_event.sync_detailed(
            case.case_id, client=client, body=event, idempotency_key=f"act-{policy}"
        )
        assert decided.status_code == 201, (policy, decided.content)
        assert isinstance(decided.parsed, models.RecordedDecision)
        assert decided.parsed.case_id == case.case_id

        again = get_case.sync(case.case_id, client=client)
        assert isinstance(again, models.Case) and len(again.decisions) == 2
        # (`cases.merge_event` drops an `acts` left empty, so CMG's case has none.)
        recorded_acts = again.facts.to_dict().get("acts", {})
        assert recorded_acts == {k: v.isoformat() for k, v in done.items()}
