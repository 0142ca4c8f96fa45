"""The control center's defences: CSRF tokens, one merchant never seeing another's data,
write-only secrets, expiring and tamper-proof sessions, the cookie's flags, the CSP."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
from dash_support import Browserless, Dash, Stack, csrf_of
from orch_pay_support import APPROVED, DECLINES, Shop
from playwright.sync_api import Response, expect

from vaultswitch.dashboard.sessions import COOKIE_NAME, IDLE_SECONDS, SessionCodec, now_seconds
from vaultswitch.orchestrator.app import create_app
from vaultswitch.orchestrator.connector_kinds import mask
from vaultswitch.orchestrator.crypto import Keyring, load_or_create_master_key


def _profile(stack: Stack, shop: Shop) -> dict[str, Any]:
    response = stack.orch.http.get(f"/v2/profiles/{shop.setup.profile_id}", headers=shop.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_form_posts_without_the_csrf_token_are_refused(stack: Stack, plain: Browserless) -> None:
    shop = stack.shop("Csrf Shop")
    pm_id = shop.save_card(APPROVED)
    before = _profile(stack, shop)

    # the sign-in form itself
    fresh = Browserless(stack)
    try:
        fresh.http.get("/sign-in")
        refused = fresh.http.post("/sign-in", data={"api_key": shop.setup.api_key})
        assert refused.status_code == 403, refused.text
        assert "Form refused" in refused.text
        assert fresh.http.get("/connectors").status_code == 303  # not signed in
    finally:
        fresh.close()

    token = plain.sign_in(shop.setup.api_key)
    form = {"external_vault": "skip", "vault_connector_id": "", "tokens": "multi"}
    for sent in (form, {**form, "csrf_token": ""}, {**form, "csrf_token": token[:-3] + "abc"}):
        response = plain.http.post(f"/vault-settings/{shop.setup.profile_id}", data=sent)
        assert response.status_code == 403, response.text
    assert _profile(stack, shop) == before  # nothing changed

    response = plain.http.post(f"/payment-methods/{pm_id}/delete", data={"customer": ""})
    assert response.status_code == 403
    kept = stack.orch.http.get(f"/v2/payment-methods/{pm_id}", headers=shop.headers)
    assert kept.status_code == 200

    assert plain.http.post("/sign-out", data={}).status_code == 403
    assert plain.http.get("/connectors").status_code == 200  # still signed in

    # with the token, the same posts work
    done = plain.http.post(
        f"/vault-settings/{shop.setup.profile_id}", data={**form, "csrf_token": token}
    )
    assert done.status_code == 303, done.text
    assert _profile(stack, shop)["is_external_vault_enabled"] is False


def _ids_of(stack: Stack, shop: Shop, pm_id: str, payment_id: str) -> dict[str, str]:
    return {
        "merchant": shop.setup.merchant_id,
        "profile": shop.setup.profile_id,
        "vault account": shop.vault_account_id or "",
        "processor account": shop.processor_account_id,
        "customer": shop.customer_id,
        "payment method": pm_id,
        "payment": payment_id,
    }


def test_one_merchant_never_sees_or_changes_another_merchants_objects(
    stack: Stack, plain: Browserless, dash: Dash
) -> None:
    mine, theirs = stack.shop("Mine Shop"), stack.shop("Theirs Shop")
    my_pm, their_pm = mine.save_card(APPROVED), theirs.save_card(APPROVED)
    decline = next(iter(DECLINES))
    my_payment = mine.paid(mine.saved_payment(my_pm, cvc="123"))["id"]
    their_payment = theirs.paid(theirs.card_payment(decline))["id"]
    their_ids = _ids_of(stack, theirs, their_pm, their_payment)
    token = plain.sign_in(mine.setup.api_key)

    # their ids in my URLs: 404, as ids that do not exist
    gets = [
        f"/connectors/{theirs.vault_account_id}",
        f"/connectors/{theirs.processor_account_id}",
        f"/payment-methods/{their_pm}/delete",
    ]
    for path in gets:
        response = plain.http.get(path)
        assert response.status_code == 404, path
        assert "There is no such" in response.text
    posts = {
        f"/connectors/{theirs.vault_account_id}": {"action": "save", "key1": "x" * 20},
        f"/payment-methods/{their_pm}/delete": {},
        f"/vault-settings/{theirs.setup.profile_id}": {"external_vault": "skip"},
    }
    before = _profile(stack, theirs)
    for path, data in posts.items():
        response = plain.http.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 404, (path, response.text)
    assert _profile(stack, theirs) == before
    still = stack.orch.http.get(f"/v2/payment-methods/{their_pm}", headers=theirs.headers)
    assert still.status_code == 200
    account = stack.orch.http.get(
        f"/v2/connector-accounts/{theirs.vault_account_id}", headers=theirs.headers
    ).json()
    assert account["status"] == "active"

    searched = plain.http.get("/payment-methods", params={"customer": theirs.customer_id})
    assert "No customer has that ID or reference." in searched.text

    # no page of mine names any of their objects; mine are there
    pages = ["/connectors", "/vault-settings", "/payment-methods", "/payments"]
    pages += [f"/connectors/{mine.vault_account_id}", f"/payments?status={'failed'}"]
    seen = ""
    for path in pages:
        response = plain.http.get(path)
        assert response.status_code == 200, path
        seen += response.text
        for what, value in their_ids.items():
            assert value not in response.text, f"{path} shows their {what}"
    assert my_pm in seen
    assert my_payment in seen

    # in the browser too
    dash.sign_in(mine.setup.api_key)
    dash.go(f"/payment-methods/{their_pm}/delete")
    expect(dash.page.get_by_role("heading", name="Not found")).to_be_visible()
    dash.shot("their-card")


def test_a_secret_typed_into_the_form_never_appears_in_a_later_response(
    dash: Dash, stack: Stack
) -> None:
    setup = stack.merchant("Secret Shop")
    typed_id = "ACdashboardLeakCheck01"
    typed_secret = "dash-Secret-" + "7" * 24
    right_secret = stack.vault.client_secret
    seen: list[str] = []

    def record(response: Response) -> None:
        parts = [f"{k}: {v}" for k, v in response.headers.items()]
        kind = response.headers.get("content-type", "")
        if response.request.method != "HEAD" and ("text" in kind or "json" in kind):
            try:
                parts.append(response.text())
            except Exception:  # redirects have no body to read
                parts.append("")
        seen.append("\n".join(parts))

    dash.sign_in(setup.api_key)
    page = dash.page
    dash.go("/connectors/new/vgs")
    page.on("response", record)
    page.get_by_label("Username (API Key)").fill(typed_id)
    page.get_by_label("Password (Key1)").fill(typed_secret)
    page.get_by_label("Vault ID (API Secret)").fill(stack.vault.vault_id)
    page.get_by_label("Custom URLs").check()
    page.get_by_label("Vault base URL").fill(stack.vault.url + "/{vault_id}/")
    page.get_by_label("Auth base URL").fill(stack.vault.url + "/")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".test-result")).to_contain_text("failed")
    # an error elsewhere in the form does not echo the secret either
    page.get_by_label("Password (Key1)").fill(typed_secret)
    page.get_by_label("Username (API Key)").fill(typed_id)
    page.get_by_label("Vault ID (API Secret)").fill("not-a-vault-id")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Vault ID (API Secret)")
    # saved, failing
    page.get_by_label("Username (API Key)").fill(typed_id)
    page.get_by_label("Password (Key1)").fill(typed_secret)
    page.get_by_label("Vault ID (API Secret)").fill(stack.vault.vault_id)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Status: Failed")).to_be_visible()
    # fixed with the right ones
    page.get_by_label("Username (API Key)").fill(stack.vault.client_id)
    page.get_by_label("Password (Key1)").fill(right_secret)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Status: Active")).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".test-result")).to_contain_text("passed")
    for name in ("Connectors", "Vault settings", "Payment methods", "Payments"):
        dash.nav(name)
    dash.page.go_back()
    dash.shot("after-secrets")
    page.remove_listener("response", record)

    assert len(seen) > 10
    everything = "\n".join(seen)
    for secret in (typed_secret, typed_id, right_secret):
        assert secret not in everything
    # the masked form (first two + last two characters) is all a page shows
    assert mask(right_secret) in everything


def _codec(stack: Stack) -> SessionCodec:
    settings = stack.orch.settings
    master = load_or_create_master_key(None, settings.resolved_master_key_file())
    return SessionCodec(Keyring(master).derive("dashboard-session"))


def test_sessions_expire_and_cannot_be_forged(dash: Dash, stack: Stack) -> None:
    setup = stack.merchant("Expiry Shop")
    dash.sign_in(setup.api_key)
    context = dash.page.context
    cookie = next(c for c in context.cookies() if c["name"] == COOKIE_NAME)
    codec = _codec(stack)
    session = codec.decode(cookie["value"], now_seconds())
    assert session is not None
    assert session.kind == "merchant"
    assert session.merchant_id == setup.merchant_id

    def with_cookie(value: str) -> str:
        context.clear_cookies()
        context.add_cookies([{**cookie, "value": value}])  # type: ignore[list-item]
        dash.go("/payments")
        return dash.page.url

    now = now_seconds()
    idle = replace(session, seen_at=now - IDLE_SECONDS - 5)
    old = replace(session, signed_in_at=now - codec.lifetime_seconds - 5, seen_at=now)
    tampered = cookie["value"][:-6] + ("AAAAAA" if not cookie["value"].endswith("A") else "BBBBBB")
    other_key = SessionCodec(b"k" * 32).encode(session)
    for value in (codec.encode(idle), codec.encode(old), tampered, other_key, "garbage"):
        assert "/dashboard/sign-in?next=" in with_cookie(value)
    # the untouched cookie still works: the checks above are what refused the others
    assert with_cookie(cookie["value"]).endswith("/dashboard/payments")

    # a revoked API key ends its sessions at once
    revoked = stack.orch.http.delete(
        f"/v2/api-keys/{session.key_id}", headers=stack.orch.admin(setup.merchant_id)
    )
    assert revoked.status_code == 200, revoked.text
    assert "/dashboard/sign-in?next=" in with_cookie(cookie["value"])
    dash.shot("expired")


def test_over_tls_the_cookie_is_secure(stack: Stack) -> None:
    app = create_app(stack.orch.settings)  # the same orchestrator, addressed over https

    async def sign_in_page() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://dash.test") as http:
            return await http.get("/dashboard/sign-in")

    # in a thread of its own: Playwright's sync API owns this thread's event loop
    with ThreadPoolExecutor(1) as pool:
        page = pool.submit(asyncio.run, sign_in_page()).result()
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    for flag in ("Secure", "HttpOnly", "Path=/dashboard/"):
        assert flag in cookie
    assert "samesite=strict" in cookie.lower()


_INLINE_EVENT = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def test_every_page_has_the_csp_and_no_inline_script_or_style(
    stack: Stack, plain: Browserless
) -> None:
    shop = stack.shop("Csp Shop")
    pm_id = shop.save_card(APPROVED)
    plain.sign_in(stack.orch.admin_key, shop.setup.merchant_id)
    pages = [
        "/connectors",
        "/connectors/new",
        "/connectors/new/vgs",
        f"/connectors/{shop.vault_account_id}",
        "/vault-settings",
        "/payment-methods",
        f"/payment-methods/{pm_id}/delete",
        "/payments",
        "/local-vault",
        "/no-such-page",
    ]
    for path in pages:
        response = plain.http.get(path)
        assert response.status_code in (200, 404), path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "default-src 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        html = response.text
        for script in re.findall(r"<script\b[^>]*>", html):
            assert 'src="/dashboard/static/' in script, (path, script)
        assert "<style" not in html
        assert " style=" not in html
        assert not _INLINE_EVENT.search(html), path
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert url.startswith(("/dashboard", "#")), (path, url)  # nothing from elsewhere
        posts = html.count('<form method="post"')
        assert html.count('name="csrf_token" value="') == posts, path
        if posts:
            csrf_of(html)
    css = plain.http.get("/static/dashboard.css")
    assert css.status_code == 200
    assert "@import" not in css.text
    assert "url(" not in css.text
