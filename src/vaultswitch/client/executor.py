"""The two executors: :class:`VaultClient` (httpx.Client) and :class:`AsyncVaultClient`
(httpx.AsyncClient). Both drive the step generators of :mod:`vaultswitch.client.engine`;
they differ only in how a request is sent and how a wait happens.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from vaultswitch.connectors.base import (
    AccessToken,
    Call,
    Credentials,
    DeleteResult,
    HttpRequest,
    HttpResponse,
    InsertResult,
    RetrieveResult,
    SessionResult,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.domain.errors import VaultswitchError

from .config import ClientConfig
from .engine import Engine, NeedToken, Op, Outcome, Send, Sleep
from .retry import classify_exception
from .tokens import AsyncTokenCache, AsyncTokenStore, Clock, TokenCache, TokenStore

T = TypeVar("T")


def _response(status: int, headers: httpx.Headers, body: bytes) -> HttpResponse:
    return HttpResponse(status, dict(headers.items()), body)


class VaultClient:
    """Runs connector flows over a shared ``httpx.Client`` (thread-safe; share one per process).

    ``clock`` (token expiry), ``sleep`` (retry waits) and ``rng`` (jitter) are injectable for
    tests. Pass ``http_client`` to bring your own httpx client (then ``config``'s HTTP settings
    are not applied and :meth:`close` leaves it open), ``logger`` to log elsewhere than the
    ``vaultswitch.client`` library logger (silent until the application configures logging;
    see :mod:`vaultswitch.logs`).
    """

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        token_store: TokenStore | None = None,
        http_client: httpx.Client | None = None,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        logger: Any | None = None,
    ) -> None:
        self.config = config or ClientConfig()
        self.tokens = TokenCache(
            token_store,
            clock=clock,
            margin=self.config.token_refresh_margin,
            fraction=self.config.token_refresh_fraction,
        )
        self._engine = Engine(self.config.retry, rng, logger)
        self._sleep = sleep
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(**self.config.httpx_options())

    # --- flows -----------------------------------------------------------------------------

    def insert(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> InsertResult:
        """Store ``data.vaulting_data`` in the vault; returns its alias(es)."""
        return self._drive(self._engine.insert(connector, credentials, data))

    def insert_many(
        self,
        connector: VaultConnector,
        credentials: Credentials,
        items: Sequence[VaultRequestData],
    ) -> list[InsertResult]:
        return self._drive(self._engine.insert_many(connector, credentials, items))

    def retrieve(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> RetrieveResult:
        return self._drive(self._engine.retrieve(connector, credentials, data))

    def delete(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> DeleteResult:
        return self._drive(self._engine.delete(connector, credentials, data))

    def create_session(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> SessionResult:
        return self._drive(self._engine.create_session(connector, credentials, data))

    def access_token(
        self,
        connector: VaultConnector,
        credentials: Credentials,
        *,
        force_refresh: bool = False,
    ) -> AccessToken:
        """The cached token for this account, fetched when missing or near expiry."""
        return self._drive(self._engine.access_token(connector, credentials, force_refresh))

    def run(self, call: Call[T], *, connector: str = "custom") -> T:
        """Send any ready-made :class:`Call` with retries and logging, and parse its answers."""
        return self._drive(self._engine.run(call, connector))

    # --- driver ----------------------------------------------------------------------------

    def _drive(self, steps: Generator[Op, Any, T]) -> T:
        value: Any = None
        error: VaultswitchError | None = None
        while True:
            try:
                op = steps.send(value) if error is None else steps.throw(error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            error = None
            if type(op) is Send:
                value = self._send(op.request)
            elif type(op) is Sleep:
                self._sleep(op.seconds)
                value = None
            else:
                assert isinstance(op, NeedToken)
                try:
                    value = self._token(op)
                except VaultswitchError as exc:
                    error = exc

    def _send(self, request: HttpRequest) -> Outcome:
        try:
            response = self._http.request(
                request.method, request.url, headers=request.headers, content=request.body
            )
        except Exception as exc:
            return classify_exception(exc)
        return _response(response.status_code, response.headers, response.content)

    def _token(self, op: NeedToken) -> AccessToken:
        def fetch() -> Any:
            return self._drive(self._engine.fetch_token(op.connector, op.credentials))

        return self.tokens.get(op.key, fetch, stale=op.stale, force=op.force)

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> VaultClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VaultClient({self.config!r})"


class AsyncVaultClient:
    """Runs connector flows over a shared ``httpx.AsyncClient`` (one per event loop)."""

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        token_store: AsyncTokenStore | TokenStore | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        logger: Any | None = None,
    ) -> None:
        self.config = config or ClientConfig()
        self.tokens = AsyncTokenCache(
            token_store,
            clock=clock,
            margin=self.config.token_refresh_margin,
            fraction=self.config.token_refresh_fraction,
        )
        self._engine = Engine(self.config.retry, rng, logger)
        self._sleep = sleep
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(**self.config.httpx_options())

    # --- flows -----------------------------------------------------------------------------

    async def insert(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> InsertResult:
        """Store ``data.vaulting_data`` in the vault; returns its alias(es)."""
        return await self._drive(self._engine.insert(connector, credentials, data))

    async def insert_many(
        self,
        connector: VaultConnector,
        credentials: Credentials,
        items: Sequence[VaultRequestData],
    ) -> list[InsertResult]:
        return await self._drive(self._engine.insert_many(connector, credentials, items))

    async def retrieve(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> RetrieveResult:
        return await self._drive(self._engine.retrieve(connector, credentials, data))

    async def delete(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> DeleteResult:
        return await self._drive(self._engine.delete(connector, credentials, data))

    async def create_session(
        self, connector: VaultConnector, credentials: Credentials, data: VaultRequestData
    ) -> SessionResult:
        return await self._drive(self._engine.create_session(connector, credentials, data))

    async def access_token(
        self,
        connector: VaultConnector,
        credentials: Credentials,
        *,
        force_refresh: bool = False,
    ) -> AccessToken:
        """The cached token for this account, fetched when missing or near expiry."""
        return await self._drive(self._engine.access_token(connector, credentials, force_refresh))

    async def run(self, call: Call[T], *, connector: str = "custom") -> T:
        """Send any ready-made :class:`Call` with retries and logging, and parse its answers."""
        return await self._drive(self._engine.run(call, connector))

    # --- driver ----------------------------------------------------------------------------

    async def _drive(self, steps: Generator[Op, Any, T]) -> T:
        value: Any = None
        error: VaultswitchError | None = None
        while True:
            try:
                op = steps.send(value) if error is None else steps.throw(error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            error = None
            if type(op) is Send:
                value = await self._send(op.request)
            elif type(op) is Sleep:
                await self._sleep(op.seconds)
                value = None
            else:
                assert isinstance(op, NeedToken)
                try:
                    value = await self._token(op)
                except VaultswitchError as exc:
                    error = exc

    async def _send(self, request: HttpRequest) -> Outcome:
        try:
            response = await self._http.request(
                request.method, request.url, headers=request.headers, content=request.body
            )
        except Exception as exc:
            return classify_exception(exc)
        return _response(response.status_code, response.headers, response.content)

    async def _token(self, op: NeedToken) -> AccessToken:
        async def fetch() -> Any:
            return await self._drive(self._engine.fetch_token(op.connector, op.credentials))

        return await self.tokens.get(op.key, fetch, stale=op.stale, force=op.force)

    # --- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncVaultClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncVaultClient({self.config!r})"
