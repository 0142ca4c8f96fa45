"""``GET /health``: the process answers and its database is reachable."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.engine import Connection

from vaultswitch import __version__
from vaultswitch.orchestrator.context import Ctx

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(ctx: Ctx) -> dict[str, Any]:
    def ping(conn: Connection) -> None:
        conn.execute(sa.text("SELECT 1"))

    await ctx.db.read(ping)
    return {"status": "ok", "service": "orchestrator", "version": __version__}
