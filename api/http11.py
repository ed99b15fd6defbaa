"""The HTTP/1.1 protocol `redress serve` runs: uvicorn's httptools protocol, whose refusal of a
request it cannot parse (Content-Length with Transfer-Encoding, a malformed request line or
header) is an RFC 9457 problem like every other error of the API, not uvicorn's plain text.

httptools refuses such a request before any application code sees it, so the edge's own checks
(`api.guard`) cannot answer it: this is the one place that can.
"""

from __future__ import annotations

import msgspec
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from schemas.problems import problem

UNPARSABLE = msgspec.json.encode(
    problem(
        400,
        "the request is not valid HTTP/1.1: its method is not one HTTP defines, its request "
        "line or headers are malformed or too long, or its framing is ambiguous "
        "(Content-Length with Transfer-Encoding)",
    )
)


class ProblemHttpTools(HttpToolsProtocol):
    """httptools, answering a request it cannot parse with a 400 problem, then closing."""

    def send_400_response(self, msg: str) -> None:
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/problem+json\r\n",
            b"content-length: " + str(len(UNPARSABLE)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            UNPARSABLE,
        ]
        self.transport.write(b"".join(head))
        self.transport.close()
