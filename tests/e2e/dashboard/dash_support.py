"""The control center's test world: our vault (with its admin API), the sandbox processor and
the orchestrator on loopback, as `vaultswitch up` runs them; Chromium through Playwright."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_pay_support import LiveProcessor, Shop, open_shop, serve_processor
from orch_support import (
    LiveVault,
    MerchantSetup,
    Orchestrator,
    new_merchant,
    orchestrator_settings,
    serve_orchestrator,
)
from playwright.sync_api import Page, expect

from live_uvicorn import LiveServer
from vaultswitch.domain.secret import Secret

CHROMIUM = Path("/usr/bin/chromium")
BASE = "/dashboard"


def chromium_missing() -> None:
    """Skip (fail under VAULTSWITCH_REQUIRE_SERVICES=1) without Debian's Chromium."""
    if CHROMIUM.exists() or shutil.which("chromium"):
        return
    reason = (
        "Debian's chromium is not installed (`./dev test` installs it: apt-get install chromium)"
    )
    if os.environ.get("VAULTSWITCH_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class AdminVault(LiveVault):
    admin_token: str = ""


@dataclass(frozen=True)
class Stack:
    orch: Orchestrator
    vault: AdminVault
    processor: LiveProcessor

    @property
    def url(self) -> str:
        return self.orch.url + BASE

    def shop(self, name: str = "Acme Shop") -> Shop:
        """A merchant with our vault as its profile's external vault, a sandbox processor
        account and a customer."""
        return open_shop(self.orch, self.processor.url, self.vault, name=name)

    def merchant(self, name: str = "Bare Shop") -> MerchantSetup:
        return new_merchant(self.orch, name)


@contextmanager
def serve_admin_vault(data_dir: Path) -> Iterator[AdminVault]:
    """Our vault with its admin API on (the orchestrator tests never import it; we do)."""
    from vaultswitch.vault.core.service import VaultService
    from vaultswitch.vault.http.app import create_app as create_vault_app
    from vaultswitch.vault.settings import VaultSettings

    token = "vat_" + secrets.token_urlsafe(24)
    settings = VaultSettings(data_dir=data_dir, admin_token=Secret(token))
    data_dir.mkdir(parents=True, exist_ok=True)
    service = VaultService.open(settings)
    server = LiveServer(create_vault_app(settings, service)).start()
    try:
        info = service.create_vault("dashboard tests")
        account, secret = service.create_service_account([info.vault_id], name="tests")
        yield AdminVault(server.url, info.vault_id, account.client_id, secret.reveal(), token)
    finally:
        server.stop()
        service.close()


@contextmanager
def serve_stack(root: Path) -> Iterator[Stack]:
    with serve_admin_vault(root / "vault") as vault, serve_processor() as processor:
        settings = orchestrator_settings(
            root / "orchestrator",
            vault_admin_url=vault.url,
            vault_admin_token=Secret(vault.admin_token),
            internal_vault_base_url=vault.url + "/{vault_id}/",
            internal_vault_auth_base_url=vault.url + "/",
            internal_vault_id=vault.vault_id,
            internal_vault_client_id=vault.client_id,
            internal_vault_client_secret=Secret(vault.client_secret),
        )
        with serve_orchestrator(settings) as orch:
            yield Stack(orch, vault, processor)


# --- in the browser ------------------------------------------------------------------------


class Dash:
    """A Playwright page on the control center, with a screenshot folder."""

    def __init__(self, page: Page, stack: Stack, shots: Path) -> None:
        self.page = page
        self.stack = stack
        self.shots = shots
        self.shots.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def go(self, path: str) -> None:
        self.page.goto(self.stack.url + path)

    def shot(self, name: str) -> Path:
        self._count += 1
        path = self.shots / f"{self._count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, key: str, merchant_id: str | None = None) -> None:
        self.go("/sign-in")
        self.page.get_by_label("API key", exact=True).fill(key)
        if merchant_id:
            self.page.get_by_label("Merchant ID (optional, with the admin key)").fill(merchant_id)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("button", name="Sign out")).to_be_visible()

    def nav(self, name: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()

    def source(self) -> str:
        return self.page.content()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


class Browserless:
    """The control center over plain HTTP (httpx), for what a browser would not send."""

    def __init__(self, stack: Stack) -> None:
        self.http = httpx.Client(base_url=stack.url, follow_redirects=False, timeout=30)

    def close(self) -> None:
        self.http.close()

    def sign_in(self, key: str, merchant_id: str | None = None) -> str:
        """Signs in; the CSRF token of the new session."""
        page = self.http.get("/sign-in")
        assert page.status_code == 200, page.text
        form: dict[str, Any] = {"csrf_token": csrf_of(page.text), "api_key": key, "next": ""}
        if merchant_id:
            form["merchant_id"] = merchant_id
        done = self.http.post("/sign-in", data=form)
        assert done.status_code == 303, done.text
        landing = self.http.get("/connectors")
        assert landing.status_code == 200, landing.text
        return csrf_of(landing.text)
