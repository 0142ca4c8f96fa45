"""What a running proxy holds: the vault core, its routes, the pipeline, the upstream pool.

One :class:`ProxyRuntime` per server process and edge. The vault core's calls block, so
they run in a small thread pool of their own (``vault_threads``); everything else runs on
the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from vaultswitch.proxy.destinations import DestinationPolicy
from vaultswitch.proxy.filters.backend import AliasBackend
from vaultswitch.proxy.filters.vault_backend import VaultCoreBackend, async_vault_backend
from vaultswitch.proxy.forwarding import Forwarder
from vaultswitch.proxy.seam import CoreRoutes, FilterPipeline, Pipeline, RouteCache, RouteSource
from vaultswitch.proxy.settings import ProxySettings
from vaultswitch.proxy.upstream import UpstreamPool, upstream_tls_context
from vaultswitch.vault.core.models import AuditContext
from vaultswitch.vault.core.service import VaultService

T = TypeVar("T")


class ProxyRuntime:
    """Shared state of one proxy server (one edge)."""

    def __init__(
        self,
        settings: ProxySettings,
        service: VaultService,
        *,
        pipeline: Pipeline | None = None,
        routes: RouteSource | None = None,
        unrestricted: bool = False,
    ) -> None:
        self.settings = settings
        self.service = service
        threads = settings.vault_threads
        if threads is None:
            threads = 1 if service.engine.dialect.name == "sqlite" else 4
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="proxy-vault"
        )
        self.routes = RouteCache(
            routes or CoreRoutes(service), self.run, settings.routes_refresh_seconds
        )
        self.policy = DestinationPolicy(settings, unrestricted=unrestricted)
        self.pool = UpstreamPool(
            upstream_tls_context(settings.upstream_ca_file),
            connect_timeout=settings.connect_timeout,
            max_idle=settings.pool_size,
            idle_seconds=settings.pool_idle_seconds,
            max_head_bytes=settings.max_head_bytes,
        )
        self.forwarder = Forwarder(
            self.pool,
            pipeline
            or FilterPipeline(
                strict=settings.strict_aliases, max_body_bytes=settings.max_body_bytes
            ),
            upstream_timeout=settings.upstream_timeout,
            max_body_bytes=settings.max_body_bytes,
        )

    async def run(self, call: Callable[[], T]) -> T:
        """Run a blocking vault call in the vault threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def backend(self, vault_id: str, ctx: AuditContext) -> AliasBackend:
        """The alias backend of one request (the vault core, audited under ctx)."""
        return async_vault_backend(VaultCoreBackend(self.service, vault_id, ctx), self.run)

    async def close(self) -> None:
        await self.pool.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
