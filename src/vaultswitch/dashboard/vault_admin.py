"""Our own vault's admin API (``/admin/...`` on the vault server), over HTTP: the
orchestrator never imports the vault. Configured by the orchestrator settings
``vault_admin_url`` and ``vault_admin_token`` (`vaultswitch up` sets both)."""

from __future__ import annotations

from typing import Any

import httpx

from vaultswitch.domain.secret import Secret

TIMEOUT_SECONDS = 10.0
ACTOR = "dashboard"


class VaultAdminError(Exception):
    """The admin API refused or could not be reached; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str, *, status: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status


class VaultAdminClient:
    """One request at a time to the admin API; a short-lived HTTP client per page."""

    def __init__(self, base_url: str, token: Secret) -> None:
        self._base = base_url.rstrip("/") + "/admin"
        self._token = token

    def __repr__(self) -> str:
        return f"VaultAdminClient({self._base!r})"

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self._token.reveal()}", "X-Admin-Actor": ACTOR}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, trust_env=False) as http:
                response = await http.request(method, self._base + path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise VaultAdminError(
                f"The local vault did not answer at {self._base} ({type(exc).__name__})",
                "Check that the vault is running (`vaultswitch up` starts it) and that "
                "VAULTSWITCH_ORCHESTRATOR_VAULT_ADMIN_URL points at it.",
                status=503,
            ) from None
        if response.status_code >= 400:
            raise _refused(response)
        return response.json()

    async def vaults(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = (await self._send("GET", "/vaults"))["data"]
        return data

    async def set_reveal(self, vault_id: str, enabled: bool) -> dict[str, Any]:
        body: dict[str, Any] = await self._send(
            "PUT", f"/vaults/{vault_id}/reveal", json={"enabled": enabled}
        )
        return body

    async def service_accounts(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = (await self._send("GET", "/service-accounts"))["data"]
        return data

    async def create_service_account(
        self, vault_id: str, name: str | None, scopes: list[str]
    ) -> dict[str, Any]:
        """The new account, with its ``client_secret`` (shown once)."""
        payload: dict[str, Any] = {"vaults": [vault_id], "scopes": scopes}
        if name:
            payload["name"] = name
        body: dict[str, Any] = await self._send("POST", "/service-accounts", json=payload)
        return body

    async def set_account_disabled(self, client_id: str, disabled: bool) -> dict[str, Any]:
        action = "disable" if disabled else "enable"
        body: dict[str, Any] = await self._send("POST", f"/service-accounts/{client_id}/{action}")
        return body

    async def routes(self, vault_id: str) -> dict[str, Any]:
        """``{vault_id, count, yaml}``: the vault's routes as a YAML document."""
        body: dict[str, Any] = await self._send("GET", f"/vaults/{vault_id}/routes")
        return body

    async def apply_routes(self, vault_id: str, document: str) -> dict[str, Any]:
        """Upload a route document (all or none): ``{created, updated, routes}``."""
        body: dict[str, Any] = await self._send(
            "PUT", f"/vaults/{vault_id}/routes", json={"yaml": document}
        )
        return body

    async def audit(self, limit: int = 50) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = (await self._send("GET", "/audit", params={"limit": limit}))[
            "data"
        ]
        return data


def _refused(response: httpx.Response) -> VaultAdminError:
    try:
        error = response.json()["errors"][0]
        detail = str(error.get("detail") or error.get("title") or "")
        code = str(error.get("code") or response.status_code)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        detail, code = f"HTTP {response.status_code}", str(response.status_code)
    if response.status_code in (401, 403):
        hint = (
            "The orchestrator's VAULTSWITCH_ORCHESTRATOR_VAULT_ADMIN_TOKEN must be the vault's "
            "VAULTSWITCH_ADMIN_TOKEN (`vaultswitch up` sets both from up.json's vault_admin_token)."
        )
    elif code in ("INVALID_ROUTE", "UNSUPPORTED_ROUTE_FEATURE"):
        hint = (
            "Fix the document at the place the message names (data[N] is the N-th route, "
            "counted from 0) and upload it again; nothing was changed."
        )
    else:
        hint = "Check the value and try again; `vaultswitch explain " + code + "` says more."
    status = response.status_code if 400 <= response.status_code < 500 else 502
    return VaultAdminError(f"The local vault refused: {detail} ({code})", hint, status=status)
