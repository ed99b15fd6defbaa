"""`python -m api.openapi`: rewrite the committed `openapi.yaml` from the app.

The document itself is made by `api.document`; this module builds the app to ask it, so nothing
the app imports imports this module (no cycle).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from api.app import create_app
from api.document import app_document, to_yaml

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_YAML = ROOT / "openapi.yaml"


def generated_yaml() -> str:
    """The document the app generates, as committed in `openapi.yaml`."""
    with tempfile.TemporaryDirectory() as unused:
        return to_yaml(app_document(create_app(Path(unused))))


def main() -> int:
    """Rewrite `openapi.yaml` at the top of the repository from the app."""
    OPENAPI_YAML.write_text(generated_yaml())
    print(f"wrote {OPENAPI_YAML}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
