"""The Python parts of the version-1 documents (`<policy>.facts/1`, `<policy>.derive/1`), frozen.

Importing this package registers them; the documents themselves are `rules.policies.archive`.
"""

from __future__ import annotations

from rules.policies.v1 import cmg_employer_review, dwp_feedback, serco_es, wme

DOCUMENTS = {
    module.DOCUMENT["id"]: module.DOCUMENT
    for module in (wme, dwp_feedback, cmg_employer_review, serco_es)
}
