"""The orchestrator ASGI app: ``create_app(settings)``.

Opening the app migrates the database and loads (or creates, 0600 in the data dir) the
master key and the admin key. The lifespan owns the one shared
:class:`~vaultswitch.client.AsyncVaultClient` (its access-token cache in Redis when
``redis_url`` is set, so workers share tokens). Routers are listed in
:data:`vaultswitch.orchestrator.routers.ROUTERS`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import Depends, FastAPI

from vaultswitch import __version__
from vaultswitch.client import AsyncVaultClient
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.log import logger

from .context import AppContext
from .crypto import Keyring, load_or_create_master_key, read_private_file, write_private_file
from .db import Database
from .errors import install_handlers
from .middleware import RequestContextMiddleware
from .request_guard import check_request
from .routers import ROUTERS
from .settings import OrchestratorSettings

DESCRIPTION = (
    "Hyperswitch v2-shaped API: merchant accounts, API keys, profiles, customers and "
    "connector accounts (VGS vault activation with a connection test). Admin routes take "
    "`Authorization: admin-api-key=<key>` (+ `X-Merchant-Id`), merchant routes "
    "`Authorization: api-key=<key>` (+ optional `X-Profile-Id`). Errors are "
    '`{"error": {"type", "code", "message", "hint", ...}}`.'
)


def load_admin_api_key(settings: OrchestratorSettings) -> Secret:
    """The configured admin key, else the key file (generated 0600 on first start)."""
    if settings.admin_api_key is not None and settings.admin_api_key.reveal().strip():
        return Secret(settings.admin_api_key.reveal().strip())
    path = settings.resolved_admin_api_key_file()
    if not path.exists() and write_private_file(path, "adm_" + secrets.token_urlsafe(32)):
        logger().info("orchestrator.admin_key_created", path=str(path))
    return Secret(read_private_file(path))


def open_context(settings: OrchestratorSettings) -> AppContext:
    """Database (migrated), keyring and admin key; no event loop needed."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    master = load_or_create_master_key(
        settings.master_key.reveal() if settings.master_key else None,
        settings.resolved_master_key_file(),
    )
    db = Database(settings.resolved_database_url())
    db.migrate()
    return AppContext(settings, db, Keyring(master), load_admin_api_key(settings))


def _token_store(ctx: AppContext) -> Any:
    """Access tokens in Redis (sealed, shared by workers) when configured, else in memory."""
    if not ctx.settings.redis_url:
        return None
    from vaultswitch.client.redis_tokens import AsyncRedisTokenStore

    return AsyncRedisTokenStore(
        ctx.settings.redis_url, ctx.keyring.derive("token-store"), prefix=ctx.settings.redis_prefix
    )


def processor_client(settings: OrchestratorSettings) -> httpx.AsyncClient:
    """The HTTP client for processor calls: connect within 5 s, answer within the timeout."""
    timeout = settings.processor_timeout_seconds
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


def create_app(settings: OrchestratorSettings | None = None) -> FastAPI:
    """The orchestrator app (migrates the database on creation)."""
    settings = settings or OrchestratorSettings()
    ctx = open_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        store = _token_store(ctx)
        client = AsyncVaultClient(token_store=store)
        ctx._vault_client = client
        processor_http = processor_client(ctx.settings)
        ctx._processor_http = processor_http
        try:
            yield
        finally:
            ctx._vault_client = None
            ctx._processor_http = None
            await client.aclose()
            await processor_http.aclose()
            if store is not None:
                await store.aclose()
            ctx.db.close()

    app = FastAPI(
        title="vaultswitch orchestrator",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(check_request)],
    )
    app.state.ctx = ctx
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    from vaultswitch.dashboard import install as install_dashboard  # the control center

    install_dashboard(app, ctx)  # pages at /dashboard/, over the services above
    app.add_middleware(RequestContextMiddleware)
    return app


def app_from_env() -> FastAPI:
    """Import-string factory for uvicorn workers: settings from `VAULTSWITCH_ORCHESTRATOR_*`."""
    from .server import configure_logging

    settings = OrchestratorSettings()
    configure_logging(settings.log_level)
    return create_app(settings)
