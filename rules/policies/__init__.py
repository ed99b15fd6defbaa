"""The four built-in policies, each a ruleset document plus its registered Python parts.

Importing this package registers every fact schema and derivation the documents name, those of
the current documents and, from `v1`, those of every earlier version (kept for replay).
"""

from __future__ import annotations

from rules.policies import cmg_employer_review, dwp_feedback, serco_es, v1, wme

DOCUMENTS = {
    module.DOCUMENT["id"]: module.DOCUMENT
    for module in (wme, dwp_feedback, cmg_employer_review, serco_es)
}

# Earlier documents by policy id, oldest first (frozen copies in `archive/`).
EARLIER = {policy_id: [document] for policy_id, document in v1.DOCUMENTS.items()}
