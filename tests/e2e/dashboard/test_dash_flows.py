"""The control center in Chromium: sign in, connect VGS with a wrong client secret (the
OAuth fix text), fix it (active), enable it on the profile, a card saved through the API
shown masked and deleted, a declined payment with its code, sign out."""

from __future__ import annotations

import re

import httpx
from dash_support import Dash, Stack
from orch_pay_support import APPROVED, DECLINES
from playwright.sync_api import expect

NAV = ("Connectors", "Vault settings", "Payment methods", "Payments", "Local vault")
ROUTE_YAML = """version: 1
data:
- attributes:
    protocol: http
    source_endpoint: '*'
    destination_override_endpoint: 'https://example.test'
    host_endpoint: (.*)\\.example\\.test
    port: 80
    tags: {name: dashboard-route}
    entries:
    - phase: REQUEST
      operation: REDACT
      token_manager: PERSISTENT
      public_token_generator: UUID
      transformer: JSON_PATH
      transformer_config: ['$.card_number']
      targets: [body]
      config:
        condition: AND
        rules:
        - expression: {field: PathInfo, type: string, operator: matches, values: [/post]}
"""


def test_sign_in_navigation_and_sign_out(dash: Dash, stack: Stack) -> None:
    setup = stack.merchant("Nav Shop")
    page = dash.page
    dash.go("/payments")  # signed out: to the sign-in page, back here afterwards
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in\?next=%2Fdashboard%2Fpayments$"))
    page.get_by_label("API key", exact=True).fill(setup.api_key[:-2] + "xx")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Sign-in failed: those details are not valid. Check them and try again."
    )
    dash.shot("wrong-key")

    page.get_by_label("API key", exact=True).fill(setup.api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(stack.url + "/payments")
    nav = page.get_by_role("navigation", name="Main")
    for name in NAV:
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Payments", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    cookie = next(c for c in page.context.cookies() if c["name"] == "vs_dashboard")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/dashboard/"
    assert cookie["secure"] is False  # plain HTTP here; over TLS it is Secure (security tests)
    dash.shot("signed-in")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    # the signed-in cookie is gone (the sign-in page sets a new, signed-out one for its form)
    after = [c["value"] for c in page.context.cookies() if c["name"] == "vs_dashboard"]
    assert cookie["value"] not in after
    dash.go("/connectors")
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in\?next="))
    dash.shot("signed-out")


def _fill_vgs(dash: Dash, stack: Stack, secret: str) -> None:
    page = dash.page
    page.get_by_label("Username (API Key)").fill(stack.vault.client_id)
    page.get_by_label("Password (Key1)").fill(secret)
    page.get_by_label("Vault ID (API Secret)").fill(stack.vault.vault_id)
    page.get_by_label("Custom URLs").check()
    page.get_by_label("Vault base URL").fill(stack.vault.url + "/{vault_id}/")
    page.get_by_label("Auth base URL").fill(stack.vault.url + "/")


def test_connect_vgs_fix_the_secret_and_enable_it_on_the_profile(dash: Dash, stack: Stack) -> None:
    setup = stack.merchant("Connect Shop")
    page = dash.page
    dash.sign_in(setup.api_key)
    dash.nav("Connectors")
    expect(page.get_by_text("No connector accounts yet")).to_be_visible()
    page.get_by_role("link", name="Connect a vault processor").click()
    page.get_by_role("link", name="VGS").click()
    for label, words in (
        ("Username (API Key)", "client ID"),
        ("Password (Key1)", "client secret"),
        ("Vault ID (API Secret)", "tntxxxxxxxx"),
    ):
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_value("")
        help_id = field.get_attribute("aria-describedby")
        assert help_id
        expect(page.locator(f"#{help_id.split()[0]}")).to_contain_text(words)
    # without "Custom URLs" the URL fields are hidden (progressive enhancement)
    expect(page.get_by_label("Vault base URL")).to_be_hidden()
    _fill_vgs(dash, stack, "wrong-" + stack.vault.client_secret)
    expect(page.get_by_label("Vault base URL")).to_be_visible()
    dash.shot("vgs-form")

    # Test connection: each step with its result, the OAuth failure with its fix; nothing saved
    page.get_by_role("button", name="Test connection").click()
    result = page.locator(".test-result")
    expect(result).to_contain_text("Connection test: failed")
    expect(result).to_contain_text("Token: failed vault_authentication_failed")
    expect(result).to_contain_text("Vault: skipped")
    expect(result.locator(".hint")).to_contain_text("copied exactly")
    expect(page.get_by_label("Password (Key1)")).to_have_value("")  # never shown back
    expect(page.get_by_label("Vault base URL")).to_have_value(stack.vault.url + "/{vault_id}/")
    dash.shot("test-failed")

    # Save the failing account: kept, marked failed, with the fix
    _fill_vgs(dash, stack, "wrong-" + stack.vault.client_secret)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Status: Failed")).to_be_visible()
    expect(page.locator(".summary .hint")).to_contain_text("copied exactly")
    account_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    dash.nav("Connectors")
    row = page.get_by_role("row").filter(has_text=account_id)
    expect(row).to_contain_text("Failed")
    expect(row.locator(".hint")).to_contain_text("copied exactly")
    dash.shot("connectors-failed")

    # Fix it: type only the right client secret, the rest is kept
    row.get_by_role("link").click()
    page.get_by_label("Password (Key1)").fill(stack.vault.client_secret)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Status: Active")).to_be_visible()
    expect(page.locator(".summary")).to_contain_text("Token: passed")
    expect(page.locator(".summary")).to_contain_text("Vault: passed")
    # Test connection on the stored account: the verify endpoint's test
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".test-result")).to_contain_text("Connection test: passed")
    dash.shot("active")
    dash.nav("Connectors")
    expect(page.get_by_role("row").filter(has_text=account_id)).to_contain_text("Active")

    # Vault settings: enable the external vault with this account, multi-token
    dash.nav("Vault settings")
    section = page.locator("section.card").first
    section.get_by_label("Enable").check()
    section.get_by_role("button", name=re.compile("Save vault settings")).click()
    expect(page.locator("section.card").first.get_by_role("alert")).to_contain_text(
        "Choose the vault connector"
    )
    section = page.locator("section.card").first
    section.get_by_label("Enable").check()
    section.get_by_label("Vault connector").select_option(account_id)
    section.get_by_label("card_number", exact=True).check()
    section.get_by_label("Multi-token").check()
    expect(section.get_by_text("One alias per card field")).to_be_visible()
    section.get_by_role("button", name=re.compile("Save vault settings")).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    dash.shot("vault-settings")
    profile = stack.orch.http.get(f"/v2/profiles/{setup.profile_id}", headers=setup.headers).json()
    assert profile["is_external_vault_enabled"] is True
    details = profile["external_vault_connector_details"]
    assert details["vault_connector_id"] == account_id
    assert details["multi_token"] is True
    assert details["vault_token_selector"] == [{"token_type": "card_number"}]
    # and it works: a card saved through the API lands in that vault
    customer = stack.orch.http.post(
        "/v2/customers",
        json={"name": "Grace Hopper", "email": "grace@example.test"},
        headers=setup.headers,
    ).json()
    saved = stack.orch.http.post(
        "/v2/payment-methods",
        headers=setup.headers,
        json={
            "customer_id": customer["id"],
            "payment_method_type": "card",
            "payment_method_subtype": "credit",
            "payment_method_data": {
                "card": {"card_number": APPROVED, "card_exp_month": "12", "card_exp_year": "2099"}
            },
        },
    )
    assert saved.status_code == 200, saved.text


def test_a_saved_card_is_masked_and_deleted_with_a_confirmation(dash: Dash, stack: Stack) -> None:
    shop = stack.shop("Card Shop")
    pm_id = shop.save_card(APPROVED)
    dash.sign_in(shop.setup.api_key)
    dash.nav("Payment methods")
    page = dash.page
    row = page.get_by_role("row").filter(has_text="4242")
    expect(row).to_contain_text("Visa")
    expect(row).to_contain_text("424242 •••• 4242")
    expect(row).to_contain_text("12/2099")
    expect(row).to_contain_text("Ada Lovelace")
    expect(row).to_contain_text("vgs_default")  # the vault it is in
    assert APPROVED not in dash.source()
    assert APPROVED not in page.inner_text("body").replace(" ", "")
    dash.shot("payment-methods")

    page.get_by_label("Customer", exact=True).fill(shop.customer_id)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row").filter(has_text="4242")).to_have_count(1)
    page.get_by_role("link", name=re.compile("^Delete")).click()
    expect(page.get_by_role("heading", name="Delete a card")).to_be_visible()
    assert APPROVED not in dash.source()
    dash.shot("delete-confirmation")
    # the confirmation step is the only way: the link itself deleted nothing
    still = stack.orch.http.get(f"/v2/payment-methods/{pm_id}", headers=shop.headers)
    assert still.status_code == 200
    page.get_by_role("button", name="Delete this card").click()
    expect(page.get_by_role("status")).to_have_text("The card was deleted, from the vault too.")
    expect(page.get_by_text("No saved cards for this customer.")).to_be_visible()
    dash.shot("deleted")
    gone = stack.orch.http.get(f"/v2/payment-methods/{pm_id}", headers=shop.headers)
    assert gone.status_code == 404


def test_a_declined_payment_shows_its_code_message_and_hint(dash: Dash, stack: Stack) -> None:
    shop = stack.shop("Pay Shop")
    number, code = next((n, c) for n, c in DECLINES.items() if c == "insufficient_funds")
    declined = shop.paid(shop.card_payment(number))
    approved = shop.paid(shop.card_payment(APPROVED))
    assert declined["status"] == "failed"
    assert approved["status"] == "succeeded"
    dash.sign_in(shop.setup.api_key)
    dash.nav("Payments")
    page = dash.page
    failed = page.get_by_role("row").filter(has_text=declined["id"])
    expect(failed).to_contain_text("10.50 USD")
    expect(failed).to_contain_text("failed")
    expect(failed).to_contain_text(code)
    expect(failed).to_contain_text(declined["error"]["message"])
    expect(failed).to_contain_text("Hint:")
    expect(failed).to_contain_text("detokenize")
    ok = page.get_by_role("row").filter(has_text=approved["id"])
    expect(ok).to_contain_text("succeeded")
    expect(ok).to_contain_text(approved["connector_transaction_id"])
    assert number not in dash.source()
    dash.shot("payments")

    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row").filter(has_text=declined["id"])).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=approved["id"])).to_have_count(0)
    expect(page.get_by_text("1 payment with status failed.")).to_be_visible()
    dash.shot("payments-failed")


def test_local_vault_with_the_admin_key(dash: Dash, stack: Stack) -> None:
    page = dash.page
    dash.sign_in(stack.orch.admin_key)
    expect(page).to_have_url(stack.url + "/local-vault")
    vaults = page.get_by_role("region", name="Vaults")
    expect(vaults).to_contain_text(stack.vault.vault_id)
    expect(page.get_by_role("heading", name="Routes", exact=True)).to_be_visible()

    page.get_by_label("Name (optional)").fill("from the dashboard")
    page.get_by_role("button", name="Create service account").click()
    created = page.locator(".secret-once")
    expect(created).to_contain_text("shown this once")
    secret = created.locator("code.secret").inner_text()
    client_id = created.locator("code").first.inner_text()
    token = httpx.post(
        stack.vault.url + "/auth/realms/vgs/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert token.status_code == 200, token.text
    dash.shot("service-account-created")
    dash.nav("Local vault")
    assert secret not in dash.source()

    accounts = page.get_by_role("region", name="Service accounts")
    row = accounts.get_by_role("row").filter(has_text=client_id)
    row.get_by_role("button", name=re.compile("^Disable")).click()
    expect(page.get_by_role("status")).to_contain_text("disabled")
    expect(accounts.get_by_role("row").filter(has_text=client_id)).to_contain_text("disabled")
    refused = httpx.post(
        stack.vault.url + "/auth/realms/vgs/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert refused.status_code == 401

    vaults.get_by_role("button", name=re.compile("Turn reveal off")).click()
    expect(page.get_by_role("region", name="Vaults")).to_contain_text("off")
    audit = page.get_by_role("region", name="Last audit entries")
    expect(audit).to_contain_text("admin.vault.reveal_disable")
    expect(audit).to_contain_text("admin-api:dashboard")
    dash.shot("local-vault")
    page.get_by_role("region", name="Vaults").get_by_role(
        "button", name=re.compile("Turn reveal on")
    ).click()
    expect(page.get_by_role("region", name="Vaults")).to_contain_text("on")

    # routes: upload a document, view it as YAML; a refused one names the place, keeps the text
    upload = page.get_by_label(f"Route document (YAML) for {stack.vault.vault_id}")
    upload.fill(ROUTE_YAML)
    page.get_by_role("button", name=f"Upload routes to {stack.vault.vault_id}").click()
    expect(page.get_by_role("status")).to_contain_text("1 created, 0 updated")
    page.get_by_text("View 1 route as YAML").click()
    expect(page.locator("pre.yaml")).to_contain_text("dashboard-route")
    bad = ROUTE_YAML.replace("operation: REDACT", "operation: SHRED").replace(
        "dashboard-route", "second-route"
    )
    upload = page.get_by_label(f"Route document (YAML) for {stack.vault.vault_id}")
    upload.fill(bad)
    page.get_by_role("button", name=f"Upload routes to {stack.vault.vault_id}").click()
    error = page.locator(".field-error")
    expect(error).to_contain_text("data[0].attributes.entries[0].operation")
    expect(page.get_by_label(f"Route document (YAML) for {stack.vault.vault_id}")).to_have_value(
        bad
    )
    expect(page.get_by_text("View 1 route as YAML")).to_be_visible()  # nothing applied
    dash.shot("routes-refused")

    # the admin key opens a merchant's pages too, given its ID
    shop = stack.shop("Admin View Shop")
    page.get_by_role("button", name="Sign out").click()
    dash.sign_in(stack.orch.admin_key, shop.setup.merchant_id)
    expect(page.get_by_text("Admin View Shop (as admin)")).to_be_visible()
    dash.nav("Connectors")
    expect(page.get_by_role("row").filter(has_text=shop.vault_account_id or "")).to_contain_text(
        "Active"
    )
