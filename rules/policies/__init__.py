"""The four built-in policies, each a ruleset document plus its registered Python parts.

Importing this package registers every fact schema and derivation the documents name.
"""

from __future__ import annotations

from rules.policies import cmg_employer_review, dwp_feedback, serco_es, wme

DOCUMENTS = {
    module.DOCUMENT["id"]: module.DOCUMENT
    for module in (wme, dwp_feedback, cmg_employer_review, serco_es)
}
