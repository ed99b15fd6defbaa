"""The baseline: a bare Litestar POST endpoint (decode JSON, encode a small answer)."""

from litestar import Litestar, post


@post("/v1/decisions")
async def decide(data: dict) -> dict:
    return {"ok": True, "fields": len(data)}


app = Litestar([decide])
