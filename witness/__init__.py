"""The witness: a C2SP tlog-witness (https://c2sp.org/tlog-witness) for the logs it is told to
trust. It cosigns a log's checkpoint only when it is consistent with the last one it cosigned
for that log, so a log that rewrites its history cannot get it cosigned.

`witness.state` holds its key and its one fact per log (the latest cosigned size and root);
`witness.app` serves `POST /add-checkpoint` over HTTP. It runs as its own process
(`redress witness serve`), possibly on another host, owned by another team.
"""
