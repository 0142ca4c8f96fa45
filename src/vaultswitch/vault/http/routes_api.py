"""VGS's vault-management API for routes, on the vault's own HTTP app:

=======  =========================  ===========================================================
GET      /rule-chains               ``{"data": [route, ...]}`` (oldest first); ``routes:read``
POST     /rule-chains               ``{"data": {type, attributes}}`` → 201 (a new id);
                                    ``routes:write``
GET      /rule-chains/{id}          ``{"data": route}``; ``routes:read``
PUT      /rule-chains/{id}          replaces the route, or creates it with that id (201);
                                    ``routes:write``
DELETE   /rule-chains/{id}          204; ``routes:write``
=======  =========================  ===========================================================

As VGS's (``vgs.sdk.vault_mgmt.VaultMgmtAPI``, vgs-cli): the vault id in the ``VGS-Tenant``
header (a ``tntxxxxxxxx.`` host or ``/tntxxxxxxxx`` path prefix works too; when both are
given they must agree), ``Authorization: Bearer`` with an access token of our OAuth
endpoint whose service account holds the scope, bodies ``application/vnd.api+json`` (or
``application/json``) in the JSON:API shape ``{"data": {"id", "type": "rule_chain",
"attributes"}}``. The management URL is the vault's own URL: ``VaultMgmtAPI(token,
vault_url)``.

Routes are checked with :mod:`vaultswitch.proxy.routes` (the model the proxies use);
a refusal is a 400 in the VGS error shape whose detail names the place
(``data.attributes.entries[0].transformer: ...``). Entries without an id get one. Every
change is audited by the core, under the token's client id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from vaultswitch.proxy.routes import (
    Route,
    RouteError,
    parse_route,
    with_entry_ids,
)
from vaultswitch.proxy.routes.model import ROUTE_TYPE, vgs_time
from vaultswitch.vault.core.errors import (
    BadRequest,
    Unauthorized,
    UnsupportedMediaType,
)
from vaultswitch.vault.core.models import AuditContext
from vaultswitch.vault.core.routes import StoredRoute, check_route_id
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.admin_api import ServiceCall
from vaultswitch.vault.http.auth import Principal
from vaultswitch.vault.http.methods import Methods
from vaultswitch.vault.http.routing import is_vault_id
from vaultswitch.vault.http.wire import JSONBody, parse_json, read_body

PATH = "/rule-chains"
READ_SCOPE = "routes:read"
WRITE_SCOPE = "routes:write"
JSONAPI_MEDIA_TYPE = "application/vnd.api+json"
MEDIA_TYPES = (JSONAPI_MEDIA_TYPE, "application/json")
MAX_MANAGEMENT_BODY = 1_048_576
TENANT_HEADER = "vgs-tenant"

PrincipalOf = Callable[[Scope, str | None], Awaitable[tuple[Principal, AuditContext]]]


class JSONAPIBody(JSONBody):
    media_type = JSONAPI_MEDIA_TYPE


def resource(stored: StoredRoute) -> dict[str, Any]:
    """A stored route as the JSON:API resource VGS answers with."""
    attributes: dict[str, Any] = {"id": stored.route_id, **stored.document}
    attributes["created_at"] = vgs_time(stored.created_at)
    attributes["updated_at"] = vgs_time(stored.updated_at)
    return {"id": stored.route_id, "type": ROUTE_TYPE, "attributes": attributes}


def _check_media_type(content_type: str | None) -> None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type must be {JSONAPI_MEDIA_TYPE} or application/json "
            f"(got {(media or 'none')[:60]})"
        )


def _route(body: Any, *, path_id: str | None) -> Route:
    """The route of a POST (``path_id`` None) or PUT body, checked; BadRequest naming the place."""
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object {"data": {...}}', code="INVALID_ROUTE")
    unknown = sorted(k for k in body if k != "data")
    if unknown:
        raise BadRequest(f"{unknown[0][:64]}: unknown field", code="UNKNOWN_FIELD")
    if "data" not in body:
        raise BadRequest(
            'data: is required ({"data": {"type": "rule_chain", "attributes": {...}}})',
            code="INVALID_ROUTE",
        )
    data = body["data"]
    try:
        if path_id is None:
            _no_ids(data)
        route = parse_route(data, "data")
        if path_id is not None:
            if route.id is not None and route.id != path_id:
                raise RouteError("data.id", "differs from the id in the path")
            route = route.with_id(path_id)
    except RouteError as exc:
        raise BadRequest(exc.detail, code=exc.code) from None
    return with_entry_ids(route)


def _no_ids(data: Any) -> None:
    """A POST gets a new id: an id in its body would be dropped, so it is refused."""
    if not isinstance(data, dict):
        return
    attributes = data.get("attributes")
    inner = attributes.get("id") if isinstance(attributes, dict) else None
    for where, given in (("data.id", data.get("id")), ("data.attributes.id", inner)):
        if given is not None:
            raise RouteError(
                where,
                "POST assigns a new id; to create or replace the route with this id, "
                "PUT /rule-chains/{id}",
            )


class RoutesAPI:
    """The ``/rule-chains`` endpoints of one vault app."""

    def __init__(self, service: VaultService, call: ServiceCall, principal_of: PrincipalOf) -> None:
        self._service = service
        self._call = call
        self._principal_of = principal_of

    def tables(self) -> dict[str, Methods]:
        """Path → method table, for the vault app's router."""
        return {
            PATH: Methods({"GET": self.list_routes, "POST": self.create_route}),
            PATH + "/{route_id}": Methods(
                {"GET": self.get_route, "PUT": self.put_route, "DELETE": self.delete_route}
            ),
        }

    # --- plumbing --------------------------------------------------------------------------

    async def _caller(self, request: Request, scope: str) -> tuple[str, AuditContext]:
        """(vault id, audit context) of an authorised caller holding ``scope``."""
        state = request.scope["vs"]
        header = request.headers.get(TENANT_HEADER)
        if header is not None:
            tenant = header.strip()
            if not is_vault_id(tenant):
                raise BadRequest(
                    "VGS-Tenant: the vault id is not tnt + 8 lowercase letters or digits",
                    code="INVALID_VAULT_ID",
                )
            if state.tenant is not None and state.tenant != tenant:
                raise BadRequest(
                    "the VGS-Tenant header and the URL name different vaults",
                    code="INVALID_REQUEST",
                )
            state.tenant = tenant
        elif state.tenant is None:
            raise BadRequest(
                "no vault: send its id in the VGS-Tenant header (VGS-Tenant: tntxxxxxxxx)",
                code="TENANT_REQUIRED",
            )
        authorization = request.headers.get("authorization")
        if authorization and authorization.split(" ", 1)[0].lower() == "basic":
            raise Unauthorized(
                "the vault-management API takes a Bearer access token from the OAuth "
                "token endpoint, not Basic access credentials"
            )
        principal, ctx = await self._principal_of(request.scope, authorization)
        principal.require(scope)
        return principal.vault_id, ctx

    async def _body(self, request: Request) -> Any:
        _check_media_type(request.headers.get("content-type"))
        raw = await read_body(
            request.receive, request.headers.get("content-length"), MAX_MANAGEMENT_BODY
        )
        return parse_json(raw)

    @staticmethod
    def _path_id(request: Request) -> str:
        return check_route_id(request.path_params["route_id"])

    # --- endpoints -------------------------------------------------------------------------

    async def list_routes(self, request: Request) -> Response:
        vault_id, _ = await self._caller(request, READ_SCOPE)
        routes = await self._call(self._service.list_routes, vault_id)
        return JSONAPIBody({"data": [resource(r) for r in routes]})

    async def get_route(self, request: Request) -> Response:
        vault_id, _ = await self._caller(request, READ_SCOPE)
        stored = await self._call(self._service.get_route, vault_id, self._path_id(request))
        return JSONAPIBody({"data": resource(stored)})

    async def create_route(self, request: Request) -> Response:
        vault_id, ctx = await self._caller(request, WRITE_SCOPE)
        route = _route(await self._body(request), path_id=None)
        stored = await self._call(
            self._service.create_route, vault_id, route.attributes(server_fields=False), ctx
        )
        return JSONAPIBody({"data": resource(stored)}, status_code=201)

    async def put_route(self, request: Request) -> Response:
        vault_id, ctx = await self._caller(request, WRITE_SCOPE)
        path_id = self._path_id(request)
        route = _route(await self._body(request), path_id=path_id)
        stored, created = await self._call(
            self._service.put_route, vault_id, path_id, route.attributes(server_fields=False), ctx
        )
        return JSONAPIBody({"data": resource(stored)}, status_code=201 if created else 200)

    async def delete_route(self, request: Request) -> Response:
        vault_id, ctx = await self._caller(request, WRITE_SCOPE)
        await self._call(self._service.delete_route, vault_id, self._path_id(request), ctx)
        return Response(status_code=204)
