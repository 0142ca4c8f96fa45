"""End-to-end scenarios over real HTTP, shared by the test on PostgreSQL + Redis with two
worker processes (test_orch_e2e_workers.py) and the one on SQLite in one process
(test_orch_e2e_sqlite.py): each takes a :class:`System` (an orchestrator, our vault with
an external and an internal vault, a fast and a slow sandbox processor) and asserts what
the user sees, the vault holds and the processor authorized.

Card numbers are chosen per scenario so that no other scenario's payment method shares an
alias with them (the vault deduplicates values), since a System is shared by a module.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Barrier
from typing import Any

import httpx
from orch_e2e_support import live_vault_of, world_of
from orch_pay_support import OUTCOMES, LiveProcessor, Shop, open_shop
from orch_pay_support import card as pay_card
from orch_support import Orchestrator, assert_error, new_merchant
from pm_support import PmVault, PmWorld, card

#: profile vault modes: PmWorld.set_vault() arguments
MODES: dict[str, dict[str, bool]] = {
    "single": {"external": True},
    "multi": {"external": True, "multi_token": True},
    "internal": {"external": False},
}
CONCURRENT = 8


@dataclass
class System:
    """Everything a scenario talks to."""

    orch: Orchestrator
    vault: PmVault
    processor: LiveProcessor
    slow_processor: LiveProcessor  # 300 ms per authorization: concurrent retries overlap

    def shop(self, name: str, *, slow: bool = False) -> Shop:
        """A merchant with our external vault (active) and a sandbox processor account."""
        processor = self.slow_processor if slow else self.processor
        return open_shop(self.orch, processor.url, live_vault_of(self.vault), name=name)

    def world(self, shop: Shop, mode: str) -> PmWorld:
        """The shop's merchant with its default profile in ``mode``."""
        world = world_of(shop, self.vault)
        world.set_vault(**MODES[mode])
        return world


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def missing(real_id: str) -> str:
    """An id of the same kind that names nothing."""
    return real_id[:-32] + "0" * 32


# --- activation ------------------------------------------------------------------------------


def _account(orch: Orchestrator, merchant_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = orch.http.post("/v2/connector-accounts", json=body, headers=orch.admin(merchant_id))
    assert response.status_code == 200, response.text
    account: dict[str, Any] = response.json()
    return account


def activation_succeeds(system: System) -> None:
    orch, vault = system.orch, live_vault_of(system.vault)
    setup = new_merchant(orch, "Activation ok")
    account = _account(orch, setup.merchant_id, vault.vgs_account(setup.profile_id))
    assert account["status"] == "active"
    verification = account["verification"]
    assert verification["ok"] is True
    assert [(c["name"], c["ok"], c["code"]) for c in verification["checks"]] == [
        ("token", True, "ok"),
        ("vault", True, "ok"),
    ]
    assert vault.client_secret not in json.dumps(account)
    verified = orch.http.post(
        f"/v2/connector-accounts/{account['id']}/verify", headers=orch.admin(setup.merchant_id)
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "active"


def _wrong_secret(system: System, profile_id: str) -> dict[str, Any]:
    vault = live_vault_of(system.vault)
    return vault.vgs_account(
        profile_id, connector_account_details=vault.details(key1="wrong-secret-value")
    )


def _wrong_vault_id(system: System, profile_id: str) -> dict[str, Any]:
    vault = live_vault_of(system.vault)
    return vault.vgs_account(
        profile_id, connector_account_details=vault.details(api_secret="tntzzzzzzzz")
    )


def _unreachable(system: System, profile_id: str) -> dict[str, Any]:
    port = closed_port()
    return live_vault_of(system.vault).vgs_account(
        profile_id,
        metadata={
            "vault_base_url": f"http://127.0.0.1:{port}/{{{{vault_id}}}}/",
            "auth_base_url": f"http://127.0.0.1:{port}/",
        },
    )


def _fix_details(**details: str) -> Callable[[Any], dict[str, Any]]:
    def fix(vault: Any) -> dict[str, Any]:
        return {
            "connector_type": "vault_processor",
            "connector_account_details": {
                "auth_type": "SignatureKey",
                **{k: getattr(vault, v) for k, v in details.items()},
            },
        }

    return fix


#: failure mode -> (body, failing check, code, what its hint says, the fix as a PUT body)
WRONG_CREDENTIALS: dict[str, Any] = {
    "wrong secret": (
        _wrong_secret,
        "token",
        "vault_authentication_failed",
        ["client secret (Password (Key1))", "copied exactly", "vaultswitch vault service-account"],
        _fix_details(key1="client_secret"),
    ),
    "wrong vault id": (
        _wrong_vault_id,
        "vault",
        "vault_not_found",
        ["Check the Vault ID (API Secret)", "sandbox vault IDs do not work in live"],
        _fix_details(api_secret="vault_id"),
    ),
    "unreachable vault": (
        _unreachable,
        "token",
        "vault_unreachable",
        ["Nothing answered at 127.0.0.1:", "auth_base_url"],
        lambda vault: {"connector_type": "vault_processor", "metadata": vault.metadata()},
    ),
}


def activation_fails(system: System, mode: str) -> None:
    """A failing connection test keeps the account inactive with the failure mode and its
    fix; a profile on it cannot save cards; the fix with a partial PUT activates it."""
    body_of, check, code, hint_says, fix_of = WRONG_CREDENTIALS[mode]
    orch, vault = system.orch, live_vault_of(system.vault)
    setup = new_merchant(orch, f"Activation {mode}")
    admin = orch.admin(setup.merchant_id)
    account = _account(orch, setup.merchant_id, body_of(system, setup.profile_id))
    assert account["status"] == "inactive"
    assert account["verification"]["ok"] is False
    failed = [c for c in account["verification"]["checks"] if not c["ok"]]
    assert failed[0]["name"] == check
    assert failed[0]["code"] == code
    assert all(c["code"] == "skipped" for c in failed[1:])
    assert failed[0]["message"]
    for phrase in hint_says:
        assert phrase in failed[0]["hint"], failed[0]
    assert "wrong-secret-value" not in json.dumps(account)
    assert vault.client_secret not in json.dumps(account)

    path = f"/v2/connector-accounts/{account['id']}"
    assert orch.http.get(path, headers=setup.headers).json()["status"] == "inactive"
    again = orch.http.post(path + "/verify", headers=admin).json()
    assert again["status"] == "inactive"
    assert next(c["code"] for c in again["verification"]["checks"] if not c["ok"]) == code
    profile = orch.http.put(
        f"/v2/profiles/{setup.profile_id}",
        json={
            "is_external_vault_enabled": True,
            "external_vault_connector_details": {"vault_connector_id": account["id"]},
        },
        headers=setup.headers,
    )
    assert profile.status_code == 200, profile.text
    customer = orch.http.post(
        "/v2/customers", json={"name": "Ann", "email": "ann@example.test"}, headers=setup.headers
    ).json()
    save = {
        "customer_id": customer["id"],
        "payment_method_type": "card",
        "payment_method_subtype": "credit",
        "payment_method_data": {"card": card("4012888888881881")},
    }
    refused = orch.http.post("/v2/payment-methods", json=save, headers=setup.headers)
    assert "inactive" in assert_error(refused, 424, "vault_not_configured")["message"]

    fixed = orch.http.put(path, json=fix_of(vault), headers=admin)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["status"] == "active"
    assert fixed.json()["verification"]["ok"] is True
    saved = orch.http.post("/v2/payment-methods", json=save, headers=setup.headers)
    assert saved.status_code == 200, saved.text


# --- payment methods -------------------------------------------------------------------------

MODE_CARDS = {
    "single": "4111111111111111",
    "multi": "5555555555554444",
    "internal": "371449635398431",
}


def save_get_list_delete(system: System, mode: str) -> None:
    """Save (masked answer, the vault writes of the mode), get, list, the same card again
    (duplicate, no vault write), another customer's copy (not one), delete (gone from the
    orchestrator and the vault)."""
    shop = system.shop(f"Cards {mode}")
    world = system.world(shop, mode)
    box = system.vault.internal if mode == "internal" else system.vault.external
    other_box = system.vault.external if mode == "internal" else system.vault.internal
    number = MODE_CARDS[mode]
    cvc = "1234" if number.startswith("37") else "123"
    before = len(system.vault.creates(box))
    before_other = len(system.vault.creates(other_box))

    saved = world.saved(card(number, card_cvc=cvc))
    assert saved["duplicate"] is False
    details = saved["payment_method_data"]["card"]
    assert (details["card_isin"], details["last4_digits"]) == (number[:6], number[-4:])
    assert (details["expiry_month"], details["expiry_year"]) == ("03", "2030")
    assert details["saved_to_locker"] is True
    assert saved["card_cvc_token_storage"]["is_stored"] is True
    assert number not in json.dumps(saved)
    events = system.vault.creates(box)  # newest first
    created = [event.alias for event in events[: len(events) - before]]
    # single-token: the card as one value (+ the CVC); multi-token: one per field (+ the CVC)
    assert len(created) == (5 if mode == "multi" else 2), created
    assert len(system.vault.creates(other_box)) == before_other
    values = {a: system.vault.value(box, a) for a in created}
    [number_alias] = [a for a, v in values.items() if v is not None and number in v]

    path = f"/v2/payment-methods/{saved['id']}"
    got = world.http.get(path, headers=world.headers)
    assert got.status_code == 200, got.text
    assert got.json() == {k: v for k, v in saved.items() if k != "duplicate"}
    listed = world.http.get(
        f"/v2/customers/{world.customer_id}/saved-payment-methods", headers=world.headers
    ).json()["customer_payment_methods"]
    assert [item["id"] for item in listed] == [saved["id"]]
    assert listed[0]["payment_method_data"] == saved["payment_method_data"]

    writes = len(system.vault.creates(box))
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    again = world.create(card(spaced, card_cvc=cvc, card_holder_name="J Q C"))
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == saved["id"]
    assert len(system.vault.creates(box)) == writes
    theirs = world.saved(card(number), customer_id=world.new_customer(name="Bob"))
    assert theirs["duplicate"] is False

    deleted = world.http.delete(path, headers=world.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": saved["id"]}
    assert_error(world.http.get(path, headers=world.headers), 404, "HE_02")
    assert_error(world.http.delete(path, headers=world.headers), 404, "HE_02")
    after = world.http.get(
        f"/v2/customers/{world.customer_id}/saved-payment-methods", headers=world.headers
    )
    assert after.json() == {"customer_payment_methods": []}
    # the vault deduplicates by value, so Bob's copy may hold the same number alias: once
    # his is deleted too, the number is gone from the vault
    gone = world.http.delete(f"/v2/payment-methods/{theirs['id']}", headers=world.headers)
    assert gone.status_code == 200, gone.text
    assert system.vault.value(box, number_alias) is None


def _proxy_body(system: System, customer_id: str, number: str) -> dict[str, Any]:
    """A proxy_card payment method: the card's fields already aliases in the external vault
    (as VGS Collect leaves them)."""
    box = system.vault.external
    return {
        "customer_id": customer_id,
        "payment_method_type": "card",
        "payment_method_subtype": "debit",
        "payment_method_data": {
            "proxy_card": {
                "card_number": system.vault.put(box, number),
                "card_exp_month": "12",
                "card_exp_year": "99",
                "card_cvc": system.vault.put(box, "842", "VOLATILE"),
                "bin_number": number[:6],
                "last_four": number[-4:],
                "card_holder_name": "Pat Proxy",
            }
        },
    }


def proxy_card_is_saved_without_a_vault_write(system: System) -> None:
    shop = system.shop("Proxy")
    world = system.world(shop, "single")
    box = system.vault.external
    body = _proxy_body(system, shop.customer_id, "6011000990139424")
    proxy = body["payment_method_data"]["proxy_card"]
    writes = len(system.vault.creates(box))
    response = world.http.post("/v2/payment-methods", json=body, headers=world.headers)
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["duplicate"] is False
    details = saved["payment_method_data"]["card"]
    assert (details["card_isin"], details["last4_digits"]) == ("601100", "9424")
    assert (details["expiry_month"], details["expiry_year"]) == ("12", "2099")
    assert proxy["card_number"] not in response.text
    assert proxy["card_cvc"] not in response.text
    again = world.http.post("/v2/payment-methods", json=body, headers=world.headers)
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == saved["id"]
    assert len(system.vault.creates(box)) == writes  # no vault write at all
    paid = shop.paid(shop.saved_payment(saved["id"]))  # the CVC from its VOLATILE alias
    assert paid["status"] == "succeeded"
    [authorization] = system.processor.authorizations(paid["id"])
    assert authorization["card"]["last4"] == "9424"  # the vault revealed the card
    gone = world.http.delete(f"/v2/payment-methods/{saved['id']}", headers=world.headers)
    assert gone.status_code == 200, gone.text
    assert system.vault.value(box, proxy["card_number"]) == "6011000990139424"  # not ours


# --- payments ----------------------------------------------------------------------------------


def assert_outcome(processor: LiveProcessor, payment: dict[str, Any], number: str) -> None:
    """The payment has the outcome card's status and code, and exactly one authorization."""
    expected = OUTCOMES.get(number, "succeeded")  # any other valid card is approved
    if expected == "succeeded":
        assert payment["status"] == "succeeded", payment
        assert payment["error"] is None
        assert payment["amount"]["amount_captured"] == payment["amount"]["order_amount"]
    else:
        assert payment["status"] == "failed", payment
        assert payment["error"]["code"] == expected
        assert payment["error"]["message"]
        assert payment["amount"]["amount_captured"] is None
    [authorization] = processor.authorizations(payment["id"])
    assert authorization["id"] == payment["connector_transaction_id"]
    assert authorization["card"]["last4"] == number[-4:]
    assert authorization.get("decline_code", authorization["status"]) == expected


def outcome_card(system: System, number: str, saved_in: tuple[str, ...]) -> None:
    """The outcome card paid as a card saved in each of ``saved_in`` (MODES, or "proxy"),
    each for its own customer, and as a new card: each payment has the card's outcome."""
    shop = system.shop(f"Outcome {number[-4:]}")
    payments = []
    for mode in saved_in:
        world = system.world(shop, "single" if mode == "proxy" else mode)
        customer_id = world.new_customer(name=mode.capitalize())
        if mode == "proxy":
            response = world.http.post(
                "/v2/payment-methods",
                json=_proxy_body(system, customer_id, number),
                headers=world.headers,
            )
            assert response.status_code == 200, response.text
            pm_id = response.json()["id"]
            cvc = None  # from its alias
        else:
            stored = pay_card(number)
            stored.pop("card_cvc")
            pm_id = world.saved(stored, customer_id=customer_id)["id"]
            cvc = "123"
        response = shop.pay(shop.saved_payment(pm_id, cvc=cvc, customer_id=customer_id))
        assert response.status_code == 200, response.text  # a decline is not an HTTP error
        assert response.json()["payment_method_id"] == pm_id
        payments.append(response.json())
    new_card = shop.pay(shop.card_payment(number))
    assert new_card.status_code == 200, new_card.text
    payments.append(new_card.json())
    for payment in payments:
        assert_outcome(system.processor, payment, number)
        assert shop.get(payment["id"]).json() == payment


RETRY_KINDS = ("saved card approved", "new card declined", "multi-token card approved")


def _retry_body(system: System, shop: Shop, kind: str) -> tuple[dict[str, Any], str]:
    """The payment request a kind of retry sends, and its card number."""
    if kind == "new card declined":
        number = "4000000000000002"
        return shop.card_payment(number), number
    if kind == "multi-token card approved":
        number = "3530111333300000"
        system.world(shop, "multi")
    else:
        number = "2223003122003222"
    return shop.saved_payment(shop.save_card(number), cvc="123"), number


def concurrent_retries(
    system: System,
    kind: str,
    clients: list[httpx.Client],
    observe: Callable[[httpx.Response], Any] | None = None,
) -> tuple[list[Any], list[Any]]:
    """One request per client, all at once, with one Idempotency-Key: one payment, one
    authorization at the processor, the others replays. Then the same key with another
    amount on the first two clients (422), and a replay on every client.

    Answers what ``observe`` said of each concurrent response and of each refusal."""
    shop = system.shop(f"Retries {kind}", slow=True)
    body, number = _retry_body(system, shop, kind)
    headers = {**shop.headers, "Idempotency-Key": str(uuid.uuid4())}
    barrier = Barrier(len(clients))
    look = observe or (lambda _response: None)

    def send(client: httpx.Client) -> tuple[httpx.Response, Any]:
        barrier.wait()
        response = client.post("/v2/payments", json=body, headers=headers)
        return response, look(response)

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(send, clients))
    other = json.loads(json.dumps(body))
    other["amount_details"]["order_amount"] += 1
    refusals = []
    for client in clients[:2]:
        refused = client.post("/v2/payments", json=other, headers=headers)
        refusals.append((refused, look(refused)))
    replays = [client.post("/v2/payments", json=body, headers=headers) for client in clients]

    responses = [response for response, _ in results]
    assert [r.status_code for r in responses] == [200] * len(clients), [r.text for r in responses]
    payments = [r.json() for r in responses]
    assert len({p["id"] for p in payments}) == 1
    assert all(p == payments[0] for p in payments)
    payment = payments[0]
    assert_outcome(system.slow_processor, payment, number)  # exactly one authorization
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert replayed.count("true") == len(clients) - 1
    listed = shop.orch.http.get("/v2/payments/list", headers=shop.headers).json()
    assert listed["total_count"] == 1
    for refused, _ in refusals:
        error = assert_error(refused, 422, "IR_06")
        assert error["field"] == "Idempotency-Key"
        assert number not in refused.text
    for replay in replays:
        assert replay.status_code == 200, replay.text
        assert replay.json() == payment
        assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(system.slow_processor.authorizations(payment["id"])) == 1
    return [seen for _, seen in results], [seen for _, seen in refusals]


# --- isolation --------------------------------------------------------------------------------


def merchants_are_isolated(system: System) -> None:
    """Another merchant gets 404 (the answer for an id that does not exist) for a
    merchant's customer, payment method, payment and connector accounts, cannot change
    them, and cannot pay with the payment method, the customer or the processor account."""
    orch = system.orch
    owner = system.shop("Owner A")
    other = system.shop("Other B")
    pm_id = owner.save_card("6011111111111117")
    paid = owner.paid(owner.saved_payment(pm_id, cvc="123"))
    assert paid["status"] == "succeeded"
    owned = {
        "customer": f"/v2/customers/{owner.customer_id}",
        "saved payment methods": f"/v2/customers/{owner.customer_id}/saved-payment-methods",
        "payment method": f"/v2/payment-methods/{pm_id}",
        "payment": f"/v2/payments/{paid['id']}",
        "vault account": f"/v2/connector-accounts/{owner.vault_account_id}",
        "processor account": f"/v2/connector-accounts/{owner.processor_account_id}",
    }
    as_admin_for_other = orch.admin(other.setup.merchant_id)
    for what, path in owned.items():
        head, _, tail = path.rpartition("/")
        if what == "saved payment methods":
            nothing_path = path.replace(owner.customer_id, missing(owner.customer_id))
        else:
            nothing_path = f"{head}/{missing(tail)}"
        accounts = what.endswith("account")  # readable with the admin key too
        for headers in (other.headers, as_admin_for_other) if accounts else (other.headers,):
            error = assert_error(orch.http.get(path, headers=headers), 404, "HE_02")
            nothing = orch.http.get(nothing_path, headers=headers)
            assert nothing.json()["error"]["message"] == error["message"], what
    for account_id, kind in (
        (owner.vault_account_id, "vault_processor"),
        (owner.processor_account_id, "payment_processor"),
    ):
        path = f"/v2/connector-accounts/{account_id}"
        admin = as_admin_for_other
        update = {"connector_type": kind, "disabled": True}
        assert_error(orch.http.put(path, json=update, headers=admin), 404, "HE_02")
        assert_error(orch.http.post(path + "/verify", headers=admin), 404, "HE_02")
        assert_error(orch.http.delete(path, headers=admin), 404, "HE_02")
    assert_error(orch.http.delete(owned["payment method"], headers=other.headers), 404, "HE_02")

    with_their_card = other.pay(other.saved_payment(pm_id, cvc="123"))
    assert "Payment method" in assert_error(with_their_card, 404, "HE_02")["message"]
    no_customer = other.saved_payment(pm_id, cvc="123")
    del no_customer["customer_id"]
    assert_error(other.pay(no_customer), 404, "HE_02")
    their_customer = other.card_payment("4242424242424242", customer_id=owner.customer_id)
    assert "Customer" in assert_error(other.pay(their_customer), 404, "HE_02")["message"]
    their_processor = other.card_payment(
        "4242424242424242", connector_id=owner.processor_account_id
    )
    assert_error(other.pay(their_processor), 404, "HE_02")
    save_for_them = orch.http.post(
        "/v2/payment-methods",
        json={
            "customer_id": owner.customer_id,
            "payment_method_type": "card",
            "payment_method_subtype": "credit",
            "payment_method_data": {"card": card()},
        },
        headers=other.headers,
    )
    assert_error(save_for_them, 404, "HE_02")
    assert orch.http.get("/v2/payments/list", headers=other.headers).json()["total_count"] == 0

    # none of it reached the processor or changed anything of the owner's
    assert len(system.processor.authorizations(paid["id"])) == 1
    for path in owned.values():
        assert orch.http.get(path, headers=owner.headers).status_code == 200, path
    assert owner.get(paid["id"]).json() == paid
