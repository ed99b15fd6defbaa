"""The `redress` command line: serve, keys, verify, replay, export."""
