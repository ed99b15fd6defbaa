"""The console quotes the seed clause behind each reason (CONTRACT.md "The console": "each
reason with its citation and the text of the cited clause from the seed")."""

from __future__ import annotations

import pytest

import rules
from console.clauses import clause_texts, places

CITATIONS = sorted(
    {rule.citation for p in rules.policy_ids() for rule in rules.policy_detail(p).rules}
)


@pytest.mark.parametrize("citation", CITATIONS)
def test_every_citation_of_every_rule_finds_its_seed_text(citation):
    """Every place a rule cites is found in the seed kept in vendor/seeds, with its text."""
    _, wanted = places(citation)
    found = clause_texts(citation)
    assert [label for label, _ in found] == [f"{citation.split()[0]} {p}" for p in wanted]
    assert all(text.strip() for _, text in found)


def test_clauses_are_the_seed_words():
    """WME 4.2: "For complaints of a more serious nature relating to misconduct,
    whistleblowing, potential fraud etc, these should be reported to the Chief Executive." """
    [(label, text)] = clause_texts("WME 4.2")
    assert label == "WME 4.2"
    assert text.startswith("4.2 For complaints of a more serious nature relating to misconduct")
    [(_, step)] = clause_texts("DWP step 11")
    assert step.startswith("- 11. Discuss the complaint with your team leader")
    assert [label for label, _ in clause_texts("Serco clients 9, SP 5")] == [
        "Serco clients 9",
        "Serco SP 5",
    ]
    assert "repeat complainers" in clause_texts("CMG assurance note")[0][1]


def test_ranges_and_inherited_words():
    assert places("CMG steps 9–12") == ("CMG", ["step 9", "step 10", "step 11", "step 12"])
    assert places("Serco SP intro, 1–3, 6") == (
        "Serco", ["SP intro", "SP 1", "SP 2", "SP 3", "SP 6"],
    )  # fmt: skip
    assert places("WME 3 Stage 1, 4.3") == ("WME", ["3 Stage 1", "4.3"])
    assert clause_texts("WME 9.9") == []
