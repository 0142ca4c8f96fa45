"""A tiny test connector ("echo vault") speaking the VGS wire shapes, independent of vgs.py.

It keeps the client tests honest about the connector interface: the client must work with
any connector, not only the VGS one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from vaultswitch.connectors.base import (
    AccessToken,
    AccessTokenGrant,
    Call,
    Credentials,
    DeleteResult,
    Flow,
    HttpRequest,
    HttpResponse,
    InsertResult,
    RetrieveResult,
    SessionResult,
    SignatureKey,
    SingleVaultId,
    VaultConnector,
    VaultRequestData,
)
from vaultswitch.domain.cards import Card
from vaultswitch.domain.errors import (
    AliasNotFound,
    InvalidRequest,
    MalformedVaultResponse,
    RateLimited,
    VaultAuthenticationFailed,
    VaultswitchError,
    VaultUnavailable,
)
from vaultswitch.domain.secret import Secret

TOKEN_PATH = "auth/realms/vgs/protocol/openid-connect/token"


def _error(response: HttpResponse, what: str) -> VaultswitchError:
    status = response.status
    if status == 401:
        return VaultAuthenticationFailed(f"echo vault rejected {what} (HTTP 401)")
    if status == 404:
        return AliasNotFound(f"echo vault has no such alias ({what})")
    if status == 429:
        return RateLimited(f"echo vault rate limited {what}")
    if status >= 500:
        return VaultUnavailable(f"echo vault failed {what} (HTTP {status})")
    return MalformedVaultResponse(f"unexpected HTTP {status} for {what}")


class EchoConnector(VaultConnector):
    name = "echo"
    accepted_credentials = (SignatureKey,)
    supported_flows = frozenset(
        {Flow.ACCESS_TOKEN, Flow.INSERT, Flow.RETRIEVE, Flow.DELETE, Flow.CREATE_SESSION}
    )

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def requires_access_token(self, credentials: Credentials) -> bool:
        return True

    def token_cache_key(self, credentials: Credentials) -> str:
        assert isinstance(credentials, SignatureKey)
        return (
            f"echo|{self.base_url}{TOKEN_PATH}|{credentials.api_key.reveal()}|"
            f"{credentials.api_secret.reveal()}"
        )

    def _vault(self, credentials: Credentials) -> str:
        assert isinstance(credentials, SignatureKey)
        return f"{self.base_url}{credentials.api_secret.reveal()}/aliases"

    @staticmethod
    def _auth(token: AccessToken | None) -> dict[str, str]:
        if token is None:
            raise InvalidRequest("echo needs a token", field="access_token")
        return {"Authorization": f"Bearer {token.token.reveal()}"}

    def access_token(self, credentials: Credentials) -> Call[AccessTokenGrant]:
        assert isinstance(credentials, SignatureKey)
        body = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": credentials.api_key.reveal(),
                "client_secret": credentials.key1.reveal(),
            }
        ).encode()
        request = HttpRequest(
            "POST",
            self.base_url + TOKEN_PATH,
            Flow.ACCESS_TOKEN,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=body,
        )

        def parse(responses: Sequence[HttpResponse]) -> AccessTokenGrant:
            (response,) = responses
            if response.status != 200:
                raise _error(response, "the token request")
            data = response.json()
            return AccessTokenGrant(
                Secret(data["access_token"]), data["token_type"], int(data["expires_in"])
            )

        return Call((request,), parse)

    def insert(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[InsertResult]:
        card = data.vaulting_data
        if not isinstance(card, Card):
            raise InvalidRequest("echo stores cards", field="vaulting_data")
        value = json.dumps(
            {
                "card_number": card.number.reveal(),
                "card_exp_month": card.expiry.month_str,
                "card_exp_year": card.expiry.year_str,
            }
        )
        body = json.dumps(
            {"data": [{"value": value, "classifiers": ["data"], "format": "UUID"}]}
        ).encode()
        request = HttpRequest(
            "POST",
            self._vault(credentials),
            Flow.INSERT,
            headers={**self._auth(token), "Content-Type": "application/json"},
            body=body,
            retry_safe=False,
            uses_access_token=True,
        )

        def parse(responses: Sequence[HttpResponse]) -> InsertResult:
            (response,) = responses
            if response.status != 201:
                raise _error(response, "the insert")
            alias = response.json()["data"][0]["aliases"][0]["alias"]
            return InsertResult(SingleVaultId(alias), alias)

        return Call((request,), parse)

    def _alias_request(
        self,
        method: str,
        flow: Flow,
        credentials: Credentials,
        token: AccessToken | None,
        data: VaultRequestData,
    ) -> tuple[HttpRequest, str]:
        vault_id = data.connector_vault_id
        if not isinstance(vault_id, SingleVaultId):
            raise InvalidRequest("echo needs one alias", field="connector_vault_id")
        url = f"{self._vault(credentials)}/{quote(vault_id.alias, safe='')}"
        request = HttpRequest(method, url, flow, headers=self._auth(token), uses_access_token=True)
        return request, vault_id.alias

    def retrieve(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[RetrieveResult]:
        request, _alias = self._alias_request("GET", Flow.RETRIEVE, credentials, token, data)

        def parse(responses: Sequence[HttpResponse]) -> RetrieveResult:
            (response,) = responses
            if response.status != 200:
                raise _error(response, "the retrieve")
            value = json.loads(response.json()["data"][0]["value"])
            return RetrieveResult(
                Card.parse(value["card_number"], value["card_exp_month"], value["card_exp_year"])
            )

        return Call((request,), parse)

    def delete(
        self, credentials: Credentials, token: AccessToken | None, data: VaultRequestData
    ) -> Call[DeleteResult]:
        request, alias = self._alias_request("DELETE", Flow.DELETE, credentials, token, data)

        def parse(responses: Sequence[HttpResponse]) -> DeleteResult:
            (response,) = responses
            if response.status != 204:
                raise _error(response, "the delete")
            return DeleteResult((alias,))

        return Call((request,), parse)

    def create_session(
        self, credentials: Credentials, data: VaultRequestData
    ) -> Call[SessionResult]:
        assert isinstance(credentials, SignatureKey)
        vault = credentials.api_secret.reveal()
        return Call((), lambda _responses: SessionResult({"external_vault_id": vault}))
