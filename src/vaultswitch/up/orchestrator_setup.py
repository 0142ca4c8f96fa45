"""`up`'s orchestrator side, over the orchestrator's own admin API (as any operator would).

First run: a merchant (with its default profile), a merchant API key, a VGS connector account
pointing at the local vault (activated: its connection test must pass), the profile's
external vault switched on, and a sandbox processor account. Later runs create nothing; they
point the two connector accounts at the URLs of this run (ports may change between runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from vaultswitch.up.vault_setup import VaultCredentials

MERCHANT_NAME = "demo"


class SetupError(Exception):
    """The orchestrator refused a set-up step; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class MerchantSetup:
    merchant_id: str
    profile_id: str
    api_key: str
    vault_connector_id: str
    processor_connector_id: str


def _check(response: httpx.Response, step: str) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        message = error.get("message") or f"HTTP {response.status_code}"
        raise SetupError(
            f"{step} failed: {message} ({error.get('code', response.status_code)})",
            error.get("hint") or "see the orchestrator's log lines above",
        )
    body = response.json()
    assert isinstance(body, dict)
    return body


def _require_active(account: dict[str, Any]) -> None:
    """The VGS connector account passed its connection test, or SetupError with its fix."""
    if account.get("status") == "active":
        return
    checks = (account.get("verification") or {}).get("checks", [])
    failed: dict[str, Any] = next((c for c in checks if not c.get("ok")), {})
    raise SetupError(
        "the VGS connector account did not pass its connection test: "
        + str(failed.get("message", "unknown")),
        str(failed.get("hint") or "run `vaultswitch up` again"),
    )


def _vgs_account(profile_id: str, vault: VaultCredentials, vault_url: str) -> dict[str, Any]:
    return {
        "connector_type": "vault_processor",
        "connector_name": "vgs",
        "connector_label": "local_vault",
        "profile_id": profile_id,
        "connector_account_details": {
            "auth_type": "SignatureKey",
            "api_key": vault.client_id,
            "key1": vault.client_secret.reveal(),
            "api_secret": vault.vault_id,
        },
        "metadata": _vgs_metadata(vault_url),
    }


def _vgs_metadata(vault_url: str) -> dict[str, str]:
    return {"vault_base_url": vault_url + "/{vault_id}/", "auth_base_url": vault_url + "/"}


def _processor_account(profile_id: str, api_key: str, processor_url: str) -> dict[str, Any]:
    return {
        "connector_type": "payment_processor",
        "connector_name": "sandbox",
        "connector_label": "sandbox",
        "profile_id": profile_id,
        "connector_account_details": {"auth_type": "HeaderKey", "api_key": api_key},
        "metadata": {"base_url": processor_url},
    }


class OrchestratorAdmin:
    """The few admin calls `up` makes."""

    def __init__(self, url: str, admin_api_key: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30.0, trust_env=False)
        self.auth = {"Authorization": f"admin-api-key={admin_api_key}"}

    def close(self) -> None:
        self.http.close()

    def _merchant(self, merchant_id: str, profile_id: str | None = None) -> dict[str, str]:
        headers = {**self.auth, "X-Merchant-Id": merchant_id}
        if profile_id:
            headers["X-Profile-Id"] = profile_id
        return headers

    def first_run(
        self,
        vault: VaultCredentials,
        vault_url: str,
        processor_api_key: str,
        processor_url: str,
    ) -> MerchantSetup:
        merchant = _check(
            self.http.post(
                "/v2/merchant-accounts", json={"merchant_name": MERCHANT_NAME}, headers=self.auth
            ),
            "creating the merchant",
        )
        merchant_id, profile_id = merchant["id"], merchant["default_profile"]
        headers = self._merchant(merchant_id, profile_id)
        key = _check(
            self.http.post(
                "/v2/api-keys",
                json={"name": "vaultswitch up", "expiration": "never"},
                headers=headers,
            ),
            "creating the merchant API key",
        )
        vgs = _check(
            self.http.post(
                "/v2/connector-accounts",
                json=_vgs_account(profile_id, vault, vault_url),
                headers=headers,
            ),
            "activating the VGS connector account",
        )
        _require_active(vgs)
        _check(
            self.http.put(
                f"/v2/profiles/{profile_id}",
                json={
                    "is_external_vault_enabled": True,
                    "external_vault_connector_details": {"vault_connector_id": vgs["id"]},
                },
                headers=headers,
            ),
            "enabling the external vault on the profile",
        )
        processor = _check(
            self.http.post(
                "/v2/connector-accounts",
                json=_processor_account(profile_id, processor_api_key, processor_url),
                headers=headers,
            ),
            "creating the sandbox processor account",
        )
        return MerchantSetup(merchant_id, profile_id, key["api_key"], vgs["id"], processor["id"])

    def repoint(self, previous: dict[str, Any], vault_url: str, processor_url: str) -> None:
        """Point the connector accounts of an earlier run at this run's URLs."""
        merchant_id = str(previous["merchant_id"])
        headers = self._merchant(merchant_id, str(previous.get("profile_id") or ""))
        updates = (
            (previous.get("vault_connector_id"), "vault_processor", _vgs_metadata(vault_url)),
            (
                previous.get("processor_connector_id"),
                "payment_processor",
                {"base_url": processor_url},
            ),
        )
        for account_id, connector_type, metadata in updates:
            if not account_id:
                continue
            body = _check(
                self.http.put(
                    f"/v2/connector-accounts/{account_id}",
                    json={
                        "connector_type": connector_type,
                        "merchant_id": merchant_id,
                        "metadata": metadata,
                    },
                    headers=headers,
                ),
                f"updating connector account {account_id}",
            )
            if connector_type == "vault_processor":
                _require_active(body)
