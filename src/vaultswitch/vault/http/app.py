"""The VGS-compatible vault HTTP server: a lean Starlette router behind one ASGI middleware.

The middleware gives every request a trace id (`vgs-request-id`), resolves the
tenant (host or path prefix), turns every error into a VGS-shaped body (a
catch-all renders a 500 without internals), adds `x-ratelimit-remaining` and
writes one structured log line per request (never values, secrets or tokens).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import structlog
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaultswitch.domain.request_ids import log_safe_hex
from vaultswitch.vault.core.errors import (
    AliasNotFoundError,
    TooManyRequests,
    VaultApiError,
    VaultNotFoundError,
)
from vaultswitch.vault.core.log_refs import LogRefs
from vaultswitch.vault.core.models import AuditContext, CreateItem
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.admin_api import AdminAPI
from vaultswitch.vault.http.auth import Authenticator, Principal, RejectedCredentials
from vaultswitch.vault.http.groupcommit import GroupCommitter
from vaultswitch.vault.http.methods import MethodNotAllowed, Methods
from vaultswitch.vault.http.oauth import (
    CERTS_PATH,
    TOKEN_PATH,
    TokenEndpoint,
    TokenIssuer,
    oauth_error,
)
from vaultswitch.vault.http.openapi import OPENAPI_PATH, openapi_document
from vaultswitch.vault.http.ratelimit import MemoryRateLimiter, RateLimiter, make_rate_limiter
from vaultswitch.vault.http.request_log import RequestLog, created_aliases, referenced_aliases
from vaultswitch.vault.http.routes_api import RoutesAPI
from vaultswitch.vault.http.routing import resolve_tenant
from vaultswitch.vault.http.wire import (
    JSON_MEDIA_TYPE,
    JSONBody,
    check_json_content_type,
    dumps,
    dumps_records,
    internal_error,
    parse_alias,
    parse_alias_query,
    parse_batch_delete,
    parse_create,
    parse_json,
    parse_storage,
    parse_update,
    read_body,
    render_error,
)
from vaultswitch.vault.settings import VaultSettings

log = structlog.get_logger(__name__)
T = TypeVar("T")

PERSISTENT = "PERSISTENT"
VOLATILE = "VOLATILE"
_HEALTH_BODY = b'{"status":"ok"}'
_ALIAS_PREFIX = "/aliases/"
_ALIAS_PREFIX_LEN = len(_ALIAS_PREFIX)


class RequestState:
    """Per-request facts shared by the middleware and the endpoints (stored in scope["vs"])."""

    __slots__ = ("aliases", "client_id", "remaining", "tenant", "trace_id", "vault_id", "via")

    def __init__(self, trace_id: str, tenant: str | None, via: str | None) -> None:
        self.trace_id = trace_id
        self.tenant = tenant
        self.via = via
        self.vault_id: str | None = None
        self.client_id: str | None = None
        self.remaining: int | None = None
        # aliases an endpoint used beyond the path and query (logged as references only)
        self.aliases: list[str] | None = None


class RouteNotFound(VaultApiError):
    default_status = 404
    default_title = "Not found"
    default_code = "NOT_FOUND"


def service_concurrency(settings: VaultSettings) -> int:
    """How many service calls run at once: SQLite has one writer, so more threads only
    contend for its lock (and its busy-wait sleeps); PostgreSQL gets its pool size."""
    if settings.resolved_database_url().startswith("sqlite"):
        return 1
    return 10


def uses_group_commit(settings: VaultSettings) -> bool:
    """SQLite: service calls run in group-committed batches on the event loop (see groupcommit)."""
    return settings.resolved_database_url().startswith("sqlite")


class VaultHTTP:
    """The endpoints; one service call per request: batched (SQLite) or in a worker thread."""

    def __init__(
        self,
        settings: VaultSettings,
        service: VaultService,
        limiter: RateLimiter,
    ) -> None:
        self.settings = settings
        self.service = service
        self.limiter = limiter
        self.issuer = TokenIssuer(service)
        self.refs = service.log_refs()
        self.auth = Authenticator(service, self.issuer, self.refs)
        self.token_endpoint = TokenEndpoint(service, self.issuer, self.refs)
        self.max_items = settings.max_items
        self.max_body = settings.max_body_bytes
        self._openapi = dumps(openapi_document(settings))
        self._threads: anyio.CapacityLimiter | None = None
        self._thread_tokens = service_concurrency(settings)
        self.batcher = GroupCommitter(service) if uses_group_commit(settings) else None
        # VOLATILE entries in Redis mean network calls: those run in worker threads
        self._volatile_blocks = bool(settings.redis_url)

    # --- plumbing ------------------------------------------------------------------------

    async def _call(self, func: Callable[..., T], *args: Any, volatile: bool = False) -> T:
        if self.batcher is not None and not (volatile and self._volatile_blocks):
            return await self.batcher.call(func, *args)
        if self._threads is None:  # created lazily: it must belong to the server's event loop
            self._threads = anyio.CapacityLimiter(self._thread_tokens)
        return await anyio.to_thread.run_sync(partial(func, *args), limiter=self._threads)

    async def _principal(self, request: Request) -> tuple[Principal, AuditContext]:
        return await self._principal_of(request.scope, request.headers.get("authorization"))

    async def _principal_of(
        self, scope: Scope, authorization: str | None
    ) -> tuple[Principal, AuditContext]:
        state: RequestState = scope["vs"]
        principal = self.auth.cached(authorization, state.tenant)
        if principal is None:
            try:
                principal = await self.auth.authenticate(authorization, state.tenant)
            except RejectedCredentials as exc:
                state.client_id = exc.actor  # a known username, else unknown:<digest>
                raise
        state.vault_id = principal.vault_id
        state.client_id = principal.actor
        limiter = self.limiter
        if isinstance(limiter, MemoryRateLimiter):
            decision = limiter.hit_nowait(principal.vault_id)
        else:
            decision = await limiter.hit(principal.vault_id)
        state.remaining = decision.remaining
        if not decision.allowed:
            raise TooManyRequests(
                f"Rate limit of {self.limiter.limit} requests per minute exceeded for this vault",
                retry_after=decision.retry_after,
            )
        client = scope.get("client")
        source = client[0] if client else None
        return principal, AuditContext(principal.actor, source, state.trace_id)

    async def _json(self, request: Request) -> Any:
        check_json_content_type(request.headers.get("content-type"))
        raw = await read_body(request.receive, request.headers.get("content-length"), self.max_body)
        return parse_json(raw)

    # --- endpoints -----------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return Response(_HEALTH_BODY, media_type="application/json")

    async def ready(self, request: Request) -> Response:
        try:
            await self._call(self._probe_database)
        except Exception as exc:
            log.warning("ready_check_failed", error=type(exc).__name__)
            return JSONBody({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONBody({"status": "ready", "database": "ok"})

    def _probe_database(self) -> None:
        ping = getattr(self.service, "ping", None)
        if callable(ping):
            ping()
            return
        with contextlib.suppress(VaultNotFoundError):
            self.service.get_vault("tnt00000000")

    async def certs(self, request: Request) -> Response:
        return JSONBody(self.issuer.jwks())

    async def openapi(self, request: Request) -> Response:
        return Response(self._openapi, media_type=JSON_MEDIA_TYPE)

    async def create(self, request: Request) -> Response:
        body = await self.create_core(request.scope, request.receive)
        return Response(body, status_code=201, media_type=JSON_MEDIA_TYPE)

    async def create_core(self, scope: Scope, receive: Receive) -> bytes:
        """POST /aliases: the response body (status 201); errors raise VaultApiError."""
        authorization, content_type, content_length = _hot_headers(scope["headers"])
        principal, ctx = await self._principal_of(scope, authorization)
        principal.require("aliases:write")
        check_json_content_type(content_type)
        raw = await read_body(receive, content_length, self.max_body)
        items = parse_create(parse_json(raw), max_items=self.max_items)
        state: RequestState = scope["vs"]
        state.aliases = referenced_aliases(items)
        records = await self._call(
            self.service.create_aliases,
            principal.vault_id,
            items,
            ctx,
            True,  # validated: parse_create checks everything the service would
            principal.holds("aliases:read"),  # references carry a value only for a revealer
            volatile=_any_volatile(items),
        )
        state.aliases = created_aliases(items, records)
        return dumps_records(records)

    async def create_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POST /aliases without Starlette's Request/Response objects (same messages)."""
        body = await self.create_core(scope, receive)
        await send_json(send, 201, body)

    async def reveal_many(self, request: Request) -> Response:
        principal, ctx = await self._principal(request)
        principal.require("aliases:read")
        query = request.query_params
        raw = query.get("aliases")
        if raw is None:
            raw = query.get("q")
        aliases = parse_alias_query(raw, max_items=self.max_items)
        storage = parse_storage(query.get("storage"))
        found = await self._call(
            self.service.reveal,
            principal.vault_id,
            aliases,
            storage,
            ctx,
            volatile=storage == VOLATILE,
        )
        data: dict[str, Any] = {}
        for alias in aliases:
            record = found.get(alias)
            if record is None:  # the service promises all or nothing; be safe anyway
                raise AliasNotFoundError(f"alias not found: {alias}")
            data[alias] = record.to_wire()
        return JSONBody({"data": data})

    async def reveal_one(self, request: Request) -> Response:
        body = await self.reveal_one_core(request.scope, request.path_params["alias"])
        return Response(body, media_type=JSON_MEDIA_TYPE)

    async def reveal_one_core(self, scope: Scope, alias_param: str) -> bytes:
        """GET /aliases/{alias}: the response body (status 200); errors raise VaultApiError."""
        authorization, _, _ = _hot_headers(scope["headers"])
        principal, ctx = await self._principal_of(scope, authorization)
        principal.require("aliases:read")
        alias = parse_alias(alias_param, "alias")
        query = scope.get("query_string")
        storage = parse_storage(_query_param(query, "storage")) if query else PERSISTENT
        found = await self._call(
            self.service.reveal,
            principal.vault_id,
            [alias],
            storage,
            ctx,
            volatile=storage == VOLATILE,
        )
        record = found.get(alias)
        if record is None:
            raise AliasNotFoundError(f"alias not found: {alias}")
        return dumps_records([record])

    async def reveal_one_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """GET /aliases/{alias} without Starlette's Request/Response objects (same messages)."""
        body = await self.reveal_one_core(scope, scope["path"][_ALIAS_PREFIX_LEN:])
        await send_json(send, 200, body)

    async def update(self, request: Request) -> Response:
        principal, ctx = await self._principal(request)
        principal.require("aliases:write")
        alias = parse_alias(request.path_params["alias"], "alias")
        storage = _storage_param(request)
        classifiers = parse_update(await self._json(request))
        await self._call(
            self.service.update_classifiers,
            principal.vault_id,
            alias,
            classifiers,
            storage,
            ctx,
            volatile=storage == VOLATILE,
        )
        return Response(status_code=204)

    async def delete_one(self, request: Request) -> Response:
        principal, ctx = await self._principal(request)
        principal.require("aliases:delete")
        alias = parse_alias(request.path_params["alias"], "alias")
        storage = _storage_param(request)
        await self._call(
            self.service.delete_alias,
            principal.vault_id,
            alias,
            storage,
            ctx,
            volatile=storage == VOLATILE,
        )
        return Response(status_code=204)

    async def delete_many(self, request: Request) -> Response:
        principal, ctx = await self._principal(request)
        principal.require("aliases:delete")
        aliases, body_storage = parse_batch_delete(
            await self._json(request), max_items=self.max_items
        )
        request.scope["vs"].aliases = aliases
        storage = body_storage or _storage_param(request)
        await self._call(
            self.service.delete_aliases,
            principal.vault_id,
            aliases,
            storage,
            ctx,
            volatile=storage == VOLATILE,
        )
        return Response(status_code=204)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise RouteNotFound("no such endpoint; see docs/vault-api.md")

    def router(self) -> Router:
        """The routes; each path's method table answers OPTIONS and refuses other methods
        with a 405 and `Allow` in its endpoint's error shape (Starlette sees every method)."""
        token = Methods({"POST": self.token_endpoint.handle}, refuse=_refuse_oauth)
        tables = {
            "/health": Methods({"GET": self.health, "HEAD": self.health}),
            "/ready": Methods({"GET": self.ready, "HEAD": self.ready}),
            TOKEN_PATH: token,
            CERTS_PATH: Methods({"GET": self.certs, "HEAD": self.certs}),
            OPENAPI_PATH: Methods({"GET": self.openapi, "HEAD": self.openapi}),
            "/aliases": Methods({"GET": self.reveal_many, "POST": self.create}),
            "/aliases/delete": Methods({"POST": self.delete_many}),
            "/aliases/{alias}": Methods(
                {"GET": self.reveal_one, "PUT": self.update, "DELETE": self.delete_one}
            ),
            # /admin/...: the admin CLI's operations over HTTP
            **AdminAPI(self.settings, self.service, self.refs, self._call).tables(),
            # /rule-chains...: VGS's vault-management API for routes
            **RoutesAPI(self.service, self._call, self._principal_of).tables(),
        }
        routes = [Route(path, table) for path, table in tables.items()]
        return DirectRouter(
            routes,
            hot={"POST": self.create_asgi},
            hot_alias={"GET": self.reveal_one_asgi},
            default=self.not_found,
            lifespan=self._lifespan,
            redirect_slashes=False,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: object) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self.batcher is not None:
                self.batcher.close()
            await self.limiter.close()


class DirectRouter(Router):
    """A Router that finds the route by a dict lookup instead of trying each in turn.

    Fixed paths are looked up exactly; the one parametrised route
    (``/aliases/{alias}``) is tried next; anything else goes through Starlette's
    ordinary matching (404/405 handling unchanged). Same routes, same precedence.
    """

    def __init__(
        self,
        routes: list[Route],
        *,
        hot: dict[str, ASGIApp] | None = None,
        hot_alias: dict[str, ASGIApp] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(routes=routes, **kwargs)
        self._exact = {r.path: r for r in routes if not r.param_convertors}
        self._param = [r for r in routes if r.param_convertors]
        self._hot = hot or {}  # method -> handler of "/aliases"
        self._hot_alias = hot_alias or {}  # method -> handler of "/aliases/{alias}"

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if not scope.get("root_path"):
                # The two hot endpoints, matched exactly as their routes would match them.
                if path == "/aliases":
                    hot = self._hot.get(scope["method"])
                    if hot is not None:
                        await hot(scope, receive, send)
                        return
                elif (
                    path.startswith(_ALIAS_PREFIX)
                    and len(path) > _ALIAS_PREFIX_LEN
                    and "/" not in path[_ALIAS_PREFIX_LEN:]
                    and path not in self._exact
                ):
                    hot = self._hot_alias.get(scope["method"])
                    if hot is not None:
                        await hot(scope, receive, send)
                        return
            exact = self._exact.get(path)
            candidates = [exact] if exact is not None else self._param
            for route in candidates:
                match, child_scope = route.matches(scope)
                if match is not Match.NONE:
                    scope["router"] = self
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


class VaultMiddleware:
    """Trace ids, tenant resolution, VGS error rendering, headers and the request log."""

    def __init__(self, app: ASGIApp, limit: int, refs: LogRefs) -> None:
        self.app = app
        self._limit = str(limit).encode()
        self._log = RequestLog(refs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        trace_id = log_safe_hex()
        host = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        path: str = scope["path"]
        root = scope.get("root_path", "")
        route_path = path[len(root) :] if root and path.startswith(root) else path
        target = resolve_tenant(host, route_path)
        state = RequestState(trace_id, target.vault_id, target.via)
        scope = dict(scope)
        scope["vs"] = state
        scope["app"] = self  # makes Starlette raise HTTPException (rendered below) for 404/405
        if target.via == "path":
            scope["path"] = root + target.path
            scope["raw_path"] = scope["path"].encode()
        status = 0
        trace_header = trace_id.encode()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                remaining = (
                    self._limit if state.remaining is None else str(state.remaining).encode()
                )
                headers = list(message.get("headers", []))
                headers.append((b"vgs-request-id", trace_header))
                headers.append((b"x-ratelimit-remaining", remaining))
                message = {**message, "headers": headers}
            await send(message)

        href = _href(scope, host, path)
        try:
            await self.app(scope, receive, send_wrapper)
        except VaultApiError as exc:
            if status:
                raise
            await render_error(exc, href=href, trace_id=trace_id)(scope, receive, send_wrapper)
        except HTTPException as exc:
            if status:
                raise
            error = _from_http_exception(exc)
            await render_error(error, href=href, trace_id=trace_id)(scope, receive, send_wrapper)
        except Exception as exc:
            log.error(
                "unhandled_error",
                trace_id=trace_id,
                error=type(exc).__name__,
                path=self._log.path(route_path, target.path)[0],
            )
            if status:
                raise
            await internal_error(href=href, trace_id=trace_id)(scope, receive, send_wrapper)
        finally:
            log.info(
                "request",
                trace_id=trace_id,
                method=scope["method"],
                **self._log.fields(
                    route_path, target.path, scope.get("query_string", b""), state.aliases
                ),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                vault_id=state.vault_id or state.tenant,
                client_id=state.client_id,
            )


def _storage_param(request: Request) -> str:
    """The `storage` query parameter (PERSISTENT when there is no query string at all)."""
    if not request.scope.get("query_string"):
        return PERSISTENT
    return parse_storage(request.query_params.get("storage"))


def _query_param(query_string: bytes, name: str) -> str | None:
    """One query parameter, parsed exactly as Starlette's ``request.query_params`` does."""
    return QueryParams(query_string).get(name)


def _hot_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None, str | None]:
    """Authorization, Content-Type and Content-Length (first of each, as Starlette's Headers)."""
    authorization = content_type = content_length = None
    for name, value in headers:
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"content-type":
            if content_type is None:
                content_type = value.decode("latin-1")
        elif name == b"content-length" and content_length is None:
            content_length = value.decode("latin-1")
    return authorization, content_type, content_length


_JSON_CONTENT_TYPE = (b"content-type", JSON_MEDIA_TYPE.encode("latin-1"))


async def send_json(send: Send, status: int, body: bytes) -> None:
    """The two messages a Starlette Response(body, status, media_type=JSON) sends."""
    headers = [(b"content-length", str(len(body)).encode("latin-1")), _JSON_CONTENT_TYPE]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _any_volatile(items: list[CreateItem]) -> bool:
    return any(item.storage == VOLATILE for item in items)


def _refuse_oauth(method: str, allow: str) -> Response:
    """The token endpoint's 405, in the OAuth error shape its clients parse."""
    return oauth_error(
        405, "invalid_request", f"HTTP method {method[:20]} not allowed; use POST", {"Allow": allow}
    )


def _from_http_exception(exc: HTTPException) -> VaultApiError:
    if exc.status_code == 405:
        return MethodNotAllowed(
            "HTTP method not allowed on this endpoint", headers=dict(exc.headers or {})
        )
    if exc.status_code == 404:
        return RouteNotFound("no such endpoint; see docs/vault-api.md")
    return VaultApiError(
        "request rejected", status=exc.status_code, code="HTTP_ERROR", title="Bad request"
    )


def _href(scope: Scope, host: str | None, path: str) -> str:
    scheme = scope.get("scheme", "http")
    return f"{scheme}://{host or 'localhost'}{path}"


def create_app(
    settings: VaultSettings | None = None,
    service: VaultService | None = None,
    *,
    rate_limiter: RateLimiter | None = None,
) -> ASGIApp:
    """The vault ASGI app; opens the service from settings when none is given."""
    settings = settings or VaultSettings()
    service = service or VaultService.open(settings)
    limiter = rate_limiter or make_rate_limiter(
        settings.rate_limit_per_minute, settings.redis_url, settings.redis_prefix
    )
    http = VaultHTTP(settings, service, limiter)
    return VaultMiddleware(http.router(), limiter.limit, http.refs)
