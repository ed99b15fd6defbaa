"""The compliance officers' console at `/console` (CONTRACT.md "The console (version 2)"):
server-rendered pages (Litestar templates, Jinja2), small vanilla JavaScript and CSS served by
Redress itself, sign-in with an audit or admin key into a server-side session.

- `console.pages`: the handlers (`CONSOLE_ROUTER`), thin.
- `console.views`, `console.charts`: what pages show (filters, page numbers and links, the
  `next` page after sign-in), and inline SVG charts (pure).
- `console.errors`: an error under `/console` is the console's page (HTML) for a browser, the
  API's problem details for a client asking for JSON; and the words said.
- `console.clauses`: each rule citation's clause text from the seeds in `vendor/seeds/`.
- `console.reads`: what pages read, through the store's read methods only (decision index, case
  tables, stored checkpoints).
- `console.sessions`: `SessionStore` (create/get/delete, expiry) as store rows.
- `static/verify.js`: receipt verification in the page with WebCrypto (SHA-256, Ed25519).

Mount with `route_handlers=[…, CONSOLE_ROUTER]` and `template_config=template_config()`.
"""

from __future__ import annotations

from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

TEMPLATES = Path(__file__).parent / "templates"


def template_config() -> TemplateConfig:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)
