"""The tamper-evident record: hash-chained entries in SQLite, RFC 9162 Merkle proofs, signed
checkpoints, offline verification and replay.
"""
