"""The vault's admin HTTP API under ``/admin/``: what the admin CLI does, over HTTP, for the
orchestrator's control center (which never imports the vault).

Every request carries ``Authorization: Bearer <admin token>``: the token is the vault's
``admin_token`` setting (``VAULTSWITCH_ADMIN_TOKEN``; `vaultswitch up` generates one and
writes it to up.json as ``vault_admin_token``). Without the setting the admin API is off
(403). The operations are :class:`~vaultswitch.vault.core.admin.VaultAdmin`'s, the same the
CLI runs, and each change writes an audit row (actor ``admin-api``, or
``admin-api:<X-Admin-Actor>``; source: the caller's address):

=======  ==========================================  ===========================================
GET      /admin/vaults                               ``{"data": [vault, ...]}``
POST     /admin/vaults                               ``{name?, reveal_enabled?, fingerprinting?}``
PUT      /admin/vaults/{vault_id}/reveal             ``{"enabled": bool}`` → the vault
GET      /admin/service-accounts?vault=ID            ``{"data": [account, ...]}`` (no secrets)
POST     /admin/service-accounts                     ``{vaults, scopes?, token_lifespan?, name?}``
                                                     → the account + ``client_secret`` (once)
POST     /admin/service-accounts/{client_id}/disable → the account (``/enable`` undoes it)
GET      /admin/audit?vault=&action=&limit=          ``{"data": [event, ...]}``, newest first
GET      /admin/vaults/{vault_id}/routes             ``{vault_id, count, yaml}``: the routes as
                                                     `vaultswitch routes get` prints them
PUT      /admin/vaults/{vault_id}/routes             ``{"yaml": <route document>}``: all or none,
                                                     as `vaultswitch routes apply -f` does
=======  ==========================================  ===========================================

Audit events name an alias by its log reference (``alias_ref``: ``alias:<10 hex>``, as the
request log does), never by the alias itself. Errors are the Vault API's (VGS shape).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from vaultswitch.proxy.routes import (
    RouteDocument,
    RouteError,
    dump_yaml,
    load_document,
    parse_stored,
    with_entry_ids,
)
from vaultswitch.vault.core.admin import VaultAdmin, account_json, vault_json
from vaultswitch.vault.core.errors import BadRequest, Forbidden, Unauthorized
from vaultswitch.vault.core.log_refs import LogRefs
from vaultswitch.vault.core.models import AuditContext, AuditEvent
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.methods import Endpoint, Methods
from vaultswitch.vault.http.routing import is_vault_id
from vaultswitch.vault.http.wire import JSONBody, check_json_content_type, parse_json, read_body
from vaultswitch.vault.settings import VaultSettings

T = TypeVar("T")

PREFIX = "/admin"
ACTOR = "admin-api"
MAX_ADMIN_BODY = 65_536
MAX_ROUTES_BODY = 5 * 1024 * 1024  # a route document may be up to 4 MiB
MAX_AUDIT_LIMIT = 1000
_ACTOR_LABEL = re.compile(r"[A-Za-z0-9._:@-]{1,64}")
_CLIENT_ID = re.compile(r"AC[A-Za-z0-9]{1,64}")
_BEARER = "bearer "


def audit_json(event: AuditEvent, refs: LogRefs) -> dict[str, Any]:
    """An audit event as the admin API answers it: the alias as its log reference."""
    body = event.to_json()
    alias = body.pop("alias", None)
    body["alias_ref"] = refs.alias(alias) if alias else None
    return body


def _fields(body: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", code="INVALID_REQUEST")
    unknown = sorted(str(k) for k in body if k not in allowed)
    if unknown:
        raise BadRequest(f"unknown field: {unknown[0][:64]}", code="UNKNOWN_FIELD")
    return body


def _optional(body: dict[str, Any], name: str, kind: type[T]) -> T | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"{name}: must be a {kind.__name__}", code="INVALID_REQUEST")
    return value


def _strings(body: dict[str, Any], name: str, *, required: bool) -> list[str] | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name}: is required", code="INVALID_REQUEST")
        return None
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or len(value) > 100
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise BadRequest(f"{name}: must be a list of strings", code="INVALID_REQUEST")
    return [v.strip() for v in value]


def _vault_id(value: str) -> str:
    if not is_vault_id(value):
        raise BadRequest(
            "the vault id is not tnt + 8 lowercase letters or digits", code="INVALID_VAULT_ID"
        )
    return value


def _client_id(value: str) -> str:
    if not _CLIENT_ID.fullmatch(value):
        raise BadRequest("the client id is not AC + letters or digits", code="INVALID_REQUEST")
    return value


class ServiceCall(Protocol):
    """How the vault app runs a service call (group-committed on SQLite, else in a thread)."""

    async def __call__(self, func: Callable[..., T], *args: Any) -> T: ...


class AdminAPI:
    """The ``/admin/...`` endpoints of one vault app; service calls go through ``call``."""

    def __init__(
        self, settings: VaultSettings, service: VaultService, refs: LogRefs, call: ServiceCall
    ) -> None:
        self._service = service
        self._refs = refs
        self._call = call
        token = settings.admin_token
        self._token = token.reveal().strip().encode() if token is not None else b""

    def tables(self) -> dict[str, Methods]:
        """Path → method table, for the vault app's router."""

        def guarded(endpoint: Endpoint) -> Endpoint:
            async def run(request: Request) -> Response:
                self._authorize(request)
                return await endpoint(request)

            return run

        def table(**endpoints: Endpoint) -> Methods:
            return Methods({method: guarded(ep) for method, ep in endpoints.items()})

        return {
            PREFIX + "/vaults": table(GET=self.list_vaults, POST=self.create_vault),
            PREFIX + "/vaults/{vault_id}/reveal": table(PUT=self.set_reveal),
            PREFIX + "/service-accounts": table(GET=self.list_accounts, POST=self.create_account),
            PREFIX + "/service-accounts/{client_id}/disable": table(POST=self.disable_account),
            PREFIX + "/service-accounts/{client_id}/enable": table(POST=self.enable_account),
            PREFIX + "/audit": table(GET=self.audit),
            PREFIX + "/vaults/{vault_id}/routes": table(GET=self.routes, PUT=self.apply_routes),
        }

    # --- plumbing --------------------------------------------------------------------------

    def _authorize(self, request: Request) -> None:
        request.scope["vs"].client_id = ACTOR  # the request log line names the caller
        if not self._token:
            raise Forbidden(
                "the admin API is off: start the vault with VAULTSWITCH_ADMIN_TOKEN set "
                "(`vaultswitch up` does, and writes it to up.json as vault_admin_token)"
            )
        header = request.headers.get("authorization") or ""
        given = header[len(_BEARER) :].strip() if header.lower().startswith(_BEARER) else ""
        if not given or not hmac.compare_digest(given.encode(), self._token):
            raise Unauthorized(
                "admin API: send Authorization: Bearer <admin token> (the vault's "
                "VAULTSWITCH_ADMIN_TOKEN; up.json: vault_admin_token)"
            )

    def _admin(self, request: Request) -> VaultAdmin:
        label = request.headers.get("x-admin-actor")
        actor = f"{ACTOR}:{label}" if label and _ACTOR_LABEL.fullmatch(label) else ACTOR
        client = request.scope.get("client")
        return VaultAdmin(self._service, actor, client[0] if client else None)

    async def _run(self, func: Callable[[], T]) -> T:
        return await self._call(func)

    async def _body(self, request: Request, limit: int = MAX_ADMIN_BODY) -> Any:
        check_json_content_type(request.headers.get("content-type"))
        raw = await read_body(request.receive, request.headers.get("content-length"), limit)
        return parse_json(raw)

    # --- vaults ----------------------------------------------------------------------------

    async def list_vaults(self, request: Request) -> Response:
        admin = self._admin(request)
        vaults = await self._run(admin.list_vaults)
        return JSONBody({"data": [vault_json(v) for v in vaults]})

    async def create_vault(self, request: Request) -> Response:
        body = _fields(await self._body(request), {"name", "reveal_enabled", "fingerprinting"})
        name = _optional(body, "name", str)
        reveal = _optional(body, "reveal_enabled", bool)
        fingerprinting = _optional(body, "fingerprinting", bool)
        admin = self._admin(request)
        info = await self._run(
            lambda: admin.create_vault(
                name,
                reveal_enabled=True if reveal is None else reveal,
                fingerprinting=True if fingerprinting is None else fingerprinting,
            )
        )
        return JSONBody(vault_json(info), status_code=201)

    async def set_reveal(self, request: Request) -> Response:
        vault_id = _vault_id(request.path_params["vault_id"])
        body = _fields(await self._body(request), {"enabled"})
        enabled = _optional(body, "enabled", bool)
        if enabled is None:
            raise BadRequest("enabled: is required (true or false)", code="INVALID_REQUEST")
        admin = self._admin(request)
        info = await self._run(lambda: admin.set_reveal(vault_id, enabled))
        return JSONBody(vault_json(info))

    # --- service accounts ------------------------------------------------------------------

    async def list_accounts(self, request: Request) -> Response:
        wanted = request.query_params.get("vault")
        vault_id = _vault_id(wanted) if wanted else None
        admin = self._admin(request)
        accounts = await self._run(lambda: admin.list_service_accounts(vault_id))
        return JSONBody({"data": [account_json(a) for a in accounts]})

    async def create_account(self, request: Request) -> Response:
        body = _fields(await self._body(request), {"vaults", "scopes", "token_lifespan", "name"})
        vaults = [_vault_id(v) for v in _strings(body, "vaults", required=True) or []]
        scopes = _strings(body, "scopes", required=False)
        lifespan = _optional(body, "token_lifespan", int)
        name = _optional(body, "name", str)
        admin = self._admin(request)

        def create() -> dict[str, Any]:
            if scopes is None:
                account, secret = admin.create_service_account(
                    vaults, token_lifespan=lifespan, name=name
                )
            else:
                account, secret = admin.create_service_account(
                    vaults, scopes, token_lifespan=lifespan, name=name
                )
            return {**account_json(account), "client_secret": secret.reveal()}

        return JSONBody(await self._run(create), status_code=201)

    async def _set_disabled(self, request: Request, disabled: bool) -> Response:
        client_id = _client_id(request.path_params["client_id"])
        admin = self._admin(request)
        account = await self._run(lambda: admin.set_service_account_disabled(client_id, disabled))
        return JSONBody(account_json(account))

    async def disable_account(self, request: Request) -> Response:
        return await self._set_disabled(request, True)

    async def enable_account(self, request: Request) -> Response:
        return await self._set_disabled(request, False)

    # --- audit -----------------------------------------------------------------------------

    async def audit(self, request: Request) -> Response:
        query = request.query_params
        wanted = query.get("vault")
        vault_id = _vault_id(wanted) if wanted else None
        action = query.get("action") or None
        raw_limit = query.get("limit") or "100"
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_AUDIT_LIMIT:
            raise BadRequest(
                f"limit: must be a number from 1 to {MAX_AUDIT_LIMIT}", code="INVALID_REQUEST"
            )
        limit = int(raw_limit)
        admin = self._admin(request)
        events = await self._run(lambda: admin.list_audit(vault_id, action, limit))
        return JSONBody({"data": [audit_json(e, self._refs) for e in events]})

    # --- routes (the vault's, for its proxies) ---------------------------------------------

    async def routes(self, request: Request) -> Response:
        vault_id = _vault_id(request.path_params["vault_id"])
        stored = await self._run(lambda: self._service.list_routes(vault_id))
        document = RouteDocument(
            tuple(parse_stored(r.route_id, r.document, r.created_at, r.updated_at) for r in stored)
        )
        return JSONBody({"vault_id": vault_id, "count": len(stored), "yaml": dump_yaml(document)})

    async def apply_routes(self, request: Request) -> Response:
        vault_id = _vault_id(request.path_params["vault_id"])
        body = _fields(await self._body(request, MAX_ROUTES_BODY), {"yaml"})
        text = _optional(body, "yaml", str)
        if text is None:
            raise BadRequest("yaml: is required (the route document)", code="INVALID_REQUEST")
        try:
            document = load_document(text)
        except RouteError as exc:  # names the place: data[0].attributes.entries[1].transformer
            raise BadRequest(exc.detail, code=exc.code) from None
        routes = [with_entry_ids(route) for route in document.routes]
        changes = [(route.id, route.attributes(server_fields=False)) for route in routes]
        admin = self._admin(request)
        ctx = AuditContext(admin.actor, admin.source, request.scope["vs"].trace_id)
        results = await self._run(lambda: self._service.apply_routes(vault_id, changes, ctx))
        applied = [
            {"id": stored.route_id, "action": "created" if created else "updated", "name": r.name}
            for r, (stored, created) in zip(routes, results, strict=True)
        ]
        return JSONBody(
            {
                "vault_id": vault_id,
                "created": sum(1 for a in applied if a["action"] == "created"),
                "updated": sum(1 for a in applied if a["action"] == "updated"),
                "routes": applied,
            }
        )
