"""What every handler can reach: settings, the database, the keyring, the vault client,
the processor HTTP client.

One :class:`AppContext` per app, on ``app.state.ctx``; handlers get it with the ``Ctx``
dependency::

    @router.get("/v2/things/{thing_id}")
    async def get_thing(thing_id: str, ctx: Ctx, caller: Merchant) -> ThingResponse: ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import httpx
from fastapi import Depends, Request

from vaultswitch.client import AsyncVaultClient
from vaultswitch.domain.secret import Secret

from .crypto import Keyring
from .db import Database
from .settings import OrchestratorSettings


@dataclass
class AppContext:
    settings: OrchestratorSettings
    db: Database
    keyring: Keyring
    admin_api_key: Secret
    # created in the app's lifespan (it belongs to the event loop)
    _vault_client: AsyncVaultClient | None = field(default=None, repr=False)
    # the HTTP client processor calls go over (lifespan too)
    _processor_http: httpx.AsyncClient | None = field(default=None, repr=False)

    @property
    def vault_client(self) -> AsyncVaultClient:
        """The one shared vault client (connection pools, access-token cache)."""
        if self._vault_client is None:
            raise RuntimeError("the vault client exists only while the app is running")
        return self._vault_client

    @property
    def processor_http(self) -> httpx.AsyncClient:
        """The one shared HTTP client for payment processors (connection pool, timeouts)."""
        if self._processor_http is None:
            raise RuntimeError("the processor HTTP client exists only while the app is running")
        return self._processor_http


def app_context(request: Request) -> AppContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, AppContext)
    return ctx


Ctx = Annotated[AppContext, Depends(app_context)]
