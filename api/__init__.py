"""The HTTP API: thin Litestar controllers over `rules`, `ledger` and `cases`; API keys, problem
details, logging.
"""
