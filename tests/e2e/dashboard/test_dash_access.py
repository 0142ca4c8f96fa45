"""Every page passes axe-core with no serious or critical violation, reads at 375 px
without sideways scrolling, works by keyboard, and every flow works without JavaScript."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from dash_support import Dash, Stack
from orch_pay_support import APPROVED, DECLINES, Shop
from playwright.sync_api import Browser, Page, expect

SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def world(stack: Stack) -> tuple[Shop, str]:
    """A merchant with a card, an approved and a declined payment, and a failing account."""
    shop = stack.shop("Axe Shop")
    pm_id = shop.save_card(APPROVED)
    shop.paid(shop.saved_payment(pm_id, cvc="123"))
    shop.paid(shop.card_payment(next(iter(DECLINES))))
    failing = stack.orch.http.post(
        "/v2/connector-accounts",
        headers=stack.orch.admin(shop.setup.merchant_id),
        json=stack.vault.vgs_account(
            shop.setup.profile_id,
            connector_label="failing_vgs",
            connector_account_details=stack.vault.details(key1="wrong-secret-value"),
        ),
    )
    assert failing.json()["status"] == "inactive", failing.text
    return shop, pm_id


def _pages(stack: Stack, shop: Shop, pm_id: str) -> list[tuple[str, Callable[[Dash], None]]]:
    """(name, how to get there) for every page and state worth checking, signed in as the
    admin acting for the merchant (so the local vault pages are there too)."""

    def go(path: str) -> Callable[[Dash], None]:
        return lambda dash: dash.go(path)

    def vgs_with_errors(dash: Dash) -> None:
        dash.go("/connectors/new/vgs")
        page = dash.page
        page.get_by_label("Username (API Key)").fill(stack.vault.client_id)
        page.get_by_label("Password (Key1)").fill("x" * 20)
        page.get_by_label("Vault ID (API Secret)").fill(stack.vault.vault_id)
        page.get_by_label("Custom URLs").check()
        page.get_by_role("button", name="Save").click()  # without the URLs: an error in place
        expect(page.locator("#vault_base_url-error")).to_be_visible()
        expect(dash.page.get_by_role("alert").first).to_be_visible()

    def vgs_tested(dash: Dash) -> None:
        dash.go("/connectors")
        dash.page.get_by_role("link", name="failing_vgs").click()
        dash.page.get_by_role("button", name="Test connection").click()
        expect(dash.page.locator(".test-result")).to_be_visible()

    def secret_shown(dash: Dash) -> None:
        dash.go("/local-vault")
        dash.page.get_by_role("button", name="Create service account").click()
        expect(dash.page.locator(".secret-once")).to_be_visible()

    def routes_refused(dash: Dash) -> None:
        dash.go("/local-vault")
        label = f"Route document (YAML) for {stack.vault.vault_id}"
        dash.page.get_by_label(label).fill("version: 1\ndata:\n- attributes: {port: x}\n")
        dash.page.get_by_role("button", name=f"Upload routes to {stack.vault.vault_id}").click()
        expect(dash.page.locator(".field-error")).to_be_visible()

    return [
        ("connectors", go("/connectors")),
        ("connect", go("/connectors/new")),
        ("vgs-form", go("/connectors/new/vgs")),
        ("vgs-form-errors", vgs_with_errors),
        ("vgs-account", go(f"/connectors/{shop.vault_account_id}")),
        ("vgs-account-tested", vgs_tested),
        ("vault-settings", go("/vault-settings")),
        ("payment-methods", go("/payment-methods")),
        ("payment-methods-search", go(f"/payment-methods?customer={shop.customer_id}")),
        ("delete-card", go(f"/payment-methods/{pm_id}/delete")),
        ("payments", go("/payments")),
        ("payments-failed", go("/payments?status=failed")),
        ("local-vault", go("/local-vault")),
        ("service-account-created", secret_shown),
        ("routes-refused", routes_refused),
        ("not-found", go("/no-such-page")),
    ]


def _serious(page: Page) -> list[str]:
    results = Axe().run(page)
    assert results.response["passes"], "axe checked nothing"  # it ran on the page
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in SERIOUS:
            targets = [node.get("target") for node in violation.get("nodes", [])][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def test_axe_finds_no_serious_violation_on_any_page(
    dash: Dash, stack: Stack, world: tuple[Shop, str]
) -> None:
    shop, pm_id = world
    problems: dict[str, list[str]] = {}
    dash.go("/sign-in")
    problems["sign-in"] = _serious(dash.page)
    dash.page.get_by_label("API key", exact=True).fill("wrong")
    dash.page.get_by_role("button", name="Sign in").click()
    problems["sign-in-failed"] = _serious(dash.page)
    dash.sign_in(stack.orch.admin_key, shop.setup.merchant_id)
    for name, reach in _pages(stack, shop, pm_id):
        reach(dash)
        problems[name] = _serious(dash.page)
        dash.shot(name)
    dash.page.get_by_role("button", name="Sign out").click()
    dash.sign_in(shop.setup.api_key)
    dash.go("/local-vault")  # a merchant on the admin page: 403
    problems["admin-only"] = _serious(dash.page)
    assert {name: found for name, found in problems.items() if found} == {}
    # the scan can fail: a page with an unlabelled field is reported
    dash.page.set_content("<html lang=en><title>t</title><main><input></main></html>")
    assert _serious(dash.page)


@pytest.fixture
def narrow(browser: Browser, stack: Stack, tmp_path: object) -> Iterator[Dash]:
    from pathlib import Path

    context = browser.new_context(viewport={"width": 375, "height": 812})
    context.set_default_timeout(20_000)
    try:
        yield Dash(context.new_page(), stack, Path(str(tmp_path)) / "shots")
    finally:
        context.close()


def test_every_page_reads_at_375_px(narrow: Dash, stack: Stack, world: tuple[Shop, str]) -> None:
    shop, pm_id = world
    narrow.go("/sign-in")
    wide: dict[str, int] = {}
    narrow.sign_in(stack.orch.admin_key, shop.setup.merchant_id)
    for name, reach in _pages(stack, shop, pm_id):
        reach(narrow)
        width = narrow.page.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            wide[name] = width
        if name in ("vgs-account-tested", "payments", "payment-methods"):
            narrow.shot(f"375-{name}")
    assert wide == {}  # wide tables scroll inside their own (focusable) region instead


def test_sign_in_and_reach_a_page_by_keyboard_alone(dash: Dash, stack: Stack) -> None:
    setup = stack.merchant("Keyboard Shop")
    page = dash.page
    dash.go("/sign-in")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "api_key":
            break
    expect(page.get_by_label("API key", exact=True)).to_be_focused()
    page.keyboard.type(setup.api_key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # Tab through the navigation to "Payments" and open it with Enter
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Payments":
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(stack.url + "/payments")
    # and "Connect a vault processor" from the connectors page
    dash.go("/connectors")
    link = page.get_by_role("link", name="Connect a vault processor")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Connect a vault processor":
            break
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Connect a vault processor")).to_be_visible()
    dash.shot("keyboard")


@pytest.fixture
def no_js(browser: Browser, stack: Stack, tmp_path: object) -> Iterator[Dash]:
    from pathlib import Path

    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(20_000)
    try:
        yield Dash(context.new_page(), stack, Path(str(tmp_path)) / "shots")
    finally:
        context.close()


def test_every_flow_works_without_javascript(no_js: Dash, stack: Stack) -> None:
    shop = stack.shop("No Script Shop")
    pm_id = shop.save_card(APPROVED)
    page = no_js.page
    no_js.sign_in(shop.setup.api_key)
    # connect VGS: the URL fields are shown without JavaScript
    no_js.go("/connectors/new/vgs")
    page.get_by_label("Username (API Key)").fill(stack.vault.client_id)
    page.get_by_label("Password (Key1)").fill(stack.vault.client_secret)
    page.get_by_label("Vault ID (API Secret)").fill(stack.vault.vault_id)
    page.get_by_label("Custom URLs").check()
    expect(page.get_by_label("Vault base URL")).to_be_visible()
    page.get_by_label("Vault base URL").fill(stack.vault.url + "/{vault_id}/")
    page.get_by_label("Auth base URL").fill(stack.vault.url + "/")
    page.get_by_label("Account name (optional)").fill("no_js_vgs")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Status: Active")).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".test-result")).to_contain_text("passed")
    no_js.shot("no-js-account")
    # vault settings
    no_js.nav("Vault settings")
    section = page.locator("section.card").first
    section.get_by_label("Skip").check()
    section.get_by_role("button", name="Save vault settings for default").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    # search, delete with confirmation
    no_js.nav("Payment methods")
    page.get_by_label("Customer", exact=True).fill(shop.customer_id)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Delete the card ending 4242").click()
    page.get_by_role("button", name="Delete this card").click()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    assert (
        stack.orch.http.get(f"/v2/payment-methods/{pm_id}", headers=shop.headers).status_code == 404
    )
    # payments filter, sign out
    no_js.nav("Payments")
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(stack.url + "/payments?status=succeeded")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    # the admin pages too
    no_js.sign_in(stack.orch.admin_key)
    page.get_by_role("button", name="Create service account").click()
    expect(page.locator(".secret-once")).to_be_visible()
    no_js.shot("no-js-local-vault")
