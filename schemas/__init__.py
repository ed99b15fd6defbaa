"""msgspec Structs: the shapes of facts, decisions, cases, ledger objects and errors that cross a
boundary.
"""
