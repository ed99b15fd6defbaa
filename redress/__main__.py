"""`python -m redress` is the `redress` command."""

from redress.cli import main

raise SystemExit(main())
