"""Placeholder: replaced by the real command line."""


def main() -> int:
    raise SystemExit("redress: not built yet")
