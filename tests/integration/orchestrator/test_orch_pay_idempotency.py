"""Idempotency-Key: concurrent identical retries make one payment and one authorization at
the processor; replays answer the same payment; the same key with another body is a 422;
an attempt that ended without the processor's answer is resolved by a retry with the key."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier
from typing import Any

import httpx
import pytest
from orch_pay_support import (
    APPROVED,
    OTHER_APPROVED,
    LiveProcessor,
    Shop,
    open_shop,
    serve_processor,
)
from orch_support import (
    LiveVault,
    Orchestrator,
    assert_error,
    orchestrator_settings,
    serve_orchestrator,
)

CONCURRENT = 8


@pytest.fixture(scope="module")
def slow_processor() -> Iterator[LiveProcessor]:
    """300 ms per authorization, so that concurrent retries overlap the first one."""
    with serve_processor(latency_ms=300) as live:
        yield live


def _concurrently(shop: Shop, body: dict[str, Any], key: str) -> list[httpx.Response]:
    barrier = Barrier(CONCURRENT)
    headers = {**shop.headers, "Idempotency-Key": key}

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=shop.orch.url, timeout=60) as client:
            barrier.wait()
            return client.post("/v2/payments", json=body, headers=headers)

    with ThreadPoolExecutor(CONCURRENT) as pool:
        return list(pool.map(send, range(CONCURRENT)))


def test_concurrent_retries_make_one_payment_and_one_authorization(
    any_orchestrator: Orchestrator, live_vault: LiveVault, slow_processor: LiveProcessor
) -> None:
    shop = open_shop(any_orchestrator, slow_processor.url, live_vault)
    pm_id = shop.save_card(APPROVED)
    body = shop.saved_payment(pm_id, cvc="123")
    key = str(uuid.uuid4())
    responses = _concurrently(shop, body, key)
    assert [r.status_code for r in responses] == [200] * CONCURRENT, [r.text for r in responses]
    payments = [r.json() for r in responses]
    assert len({p["id"] for p in payments}) == 1
    assert {p["status"] for p in payments} == {"succeeded"}
    assert all(p == payments[0] for p in payments)
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert replayed.count("true") == CONCURRENT - 1
    assert replayed.count(None) == 1
    authorizations = slow_processor.authorizations(payments[0]["id"])
    assert len(authorizations) == 1
    assert authorizations[0]["id"] == payments[0]["connector_transaction_id"]
    listed = shop.orch.http.get("/v2/payments/list", headers=shop.headers).json()
    assert listed["total_count"] == 1

    # a later retry replays it; a declined payment replays just the same
    later = shop.pay(body, key)
    assert later.status_code == 200
    assert later.json() == payments[0]
    assert later.headers["Idempotent-Replayed"] == "true"
    decline_key = str(uuid.uuid4())
    declined = shop.paid(shop.card_payment("4000000000000002"), decline_key)
    assert declined["status"] == "failed"
    assert shop.paid(shop.card_payment("4000000000000002"), decline_key) == declined
    assert len(slow_processor.authorizations(declined["id"])) == 1
    assert len(slow_processor.authorizations(payments[0]["id"])) == 1


def test_the_same_key_with_another_request_is_refused(
    orchestrator: Orchestrator, slow_processor: LiveProcessor
) -> None:
    shop = open_shop(orchestrator, slow_processor.url)
    key = "order-42-attempt-1"
    first = shop.paid(shop.card_payment(APPROVED), key)
    other_card = shop.pay(shop.card_payment(OTHER_APPROVED), key)
    error = assert_error(other_card, 422, "IR_06")
    assert error["field"] == "Idempotency-Key"
    assert "different request" in error["message"]
    assert OTHER_APPROVED not in other_card.text
    other_amount = shop.card_payment(APPROVED)
    other_amount["amount_details"]["order_amount"] = 1051
    assert_error(shop.pay(other_amount, key), 422, "IR_06")
    as_intent = shop.orch.http.post(
        "/v2/payments/create-intent",
        json={"amount_details": shop.amount()},
        headers={**shop.headers, "Idempotency-Key": key},
    )
    assert_error(as_intent, 422, "IR_06")
    # the same JSON with its keys in another order is the same request
    reordered = dict(reversed(list(shop.card_payment(APPROVED).items())))
    assert shop.paid(reordered, key) == first
    # keys belong to one merchant: another merchant may use the same key
    other_shop = open_shop(orchestrator, slow_processor.url, name="Other Shop")
    assert other_shop.paid(other_shop.card_payment(APPROVED), key)["id"] != first["id"]
    assert len(slow_processor.authorizations(first["id"])) == 1
    bad_key = shop.pay(shop.card_payment(APPROVED), "has a space")
    assert assert_error(bad_key, 400, "IR_07")["field"] == "Idempotency-Key"


def test_idempotent_create_intent_and_confirm_intent(
    orchestrator: Orchestrator, slow_processor: LiveProcessor
) -> None:
    shop = open_shop(orchestrator, slow_processor.url)
    http = shop.orch.http
    intent_key = {**shop.headers, "Idempotency-Key": "intent-1"}
    body = {"amount_details": shop.amount(), "customer_id": shop.customer_id}
    intent = http.post("/v2/payments/create-intent", json=body, headers=intent_key)
    again = http.post("/v2/payments/create-intent", json=body, headers=intent_key)
    assert again.json() == intent.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    path = f"/v2/payments/{intent.json()['id']}/confirm-intent"
    confirm = shop.card_payment(APPROVED)
    for field in ("amount_details", "customer_id"):
        confirm.pop(field)
    confirm_key = {**shop.headers, "Idempotency-Key": "confirm-1"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: http.post(path, json=confirm, headers=confirm_key), range(4))
        )
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert {a.json()["status"] for a in answers} == {"succeeded"}
    assert len(slow_processor.authorizations(intent.json()["id"])) == 1
    # without the key, a second confirm is refused
    assert_error(http.post(path, json=confirm, headers=shop.headers), 400, "IR_14")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_processor_down_fails_the_payment_and_a_keyed_retry_runs_it_again(
    orchestrator: Orchestrator, live_vault: LiveVault, slow_processor: LiveProcessor
) -> None:
    down = f"http://127.0.0.1:{_closed_port()}/"
    shop = open_shop(orchestrator, down, live_vault)
    pm_id = shop.save_card(APPROVED)
    body = shop.saved_payment(pm_id, cvc="123")
    key = str(uuid.uuid4())
    response = shop.pay(body, key)
    error = assert_error(response, 503, "processor_unavailable")
    assert "nothing was sent" in error["message"]
    assert error["payment_status"] == "failed"
    payment = shop.get(error["payment_id"]).json()
    assert payment["status"] == "failed"
    assert payment["error"]["code"] == "processor_unavailable"
    assert payment["connector_transaction_id"] is None
    # a retry while it is still down answers the same way
    assert_error(shop.pay(body, key), 503, "processor_unavailable")
    # the processor account is fixed; the same key now runs the payment again
    fixed = shop.orch.http.put(
        f"/v2/connector-accounts/{shop.processor_account_id}",
        json={"connector_type": "payment_processor", "metadata": {"base_url": slow_processor.url}},
        headers=shop.orch.admin(shop.setup.merchant_id),
    )
    assert fixed.status_code == 200, fixed.text
    retried = shop.pay(body, key)
    assert retried.status_code == 200, retried.text
    assert retried.json()["id"] == payment["id"]
    assert retried.json()["status"] == "succeeded"
    assert retried.json()["error"] is None
    assert retried.json()["attempt_count"] == 3
    assert len(slow_processor.authorizations(payment["id"])) == 1
    # without a key, a payment to a processor that is down is simply failed
    unkeyed = shop.orch.http.put(
        f"/v2/connector-accounts/{shop.processor_account_id}",
        json={"connector_type": "payment_processor", "metadata": {"base_url": down}},
        headers=shop.orch.admin(shop.setup.merchant_id),
    )
    assert unkeyed.status_code == 200, unkeyed.text
    assert_error(shop.pay(body), 503, "processor_unavailable")


def _wait_for_authorization(processor: LiveProcessor, payment_id: str) -> list[dict[str, Any]]:
    """The processor records the authorization after its latency, whoever still listens."""
    deadline = time.monotonic() + 30
    while not (found := processor.authorizations(payment_id)):
        assert time.monotonic() < deadline, "the processor never recorded the authorization"
        time.sleep(0.05)
    return found


def test_a_timeout_after_sending_leaves_the_payment_processing_until_a_keyed_retry(
    tmp_path: Path, live_vault: LiveVault
) -> None:
    settings = orchestrator_settings(tmp_path / "orch", processor_timeout_seconds=0.3)
    with (
        serve_processor(latency_ms=1500) as very_slow,
        serve_orchestrator(settings) as orch,
    ):
        shop = open_shop(orch, very_slow.url, live_vault)
        pm_id = shop.save_card(APPROVED)
        body = shop.saved_payment(pm_id, cvc="123")
        key = str(uuid.uuid4())
        error = assert_error(shop.pay(body, key), 503, "processor_unavailable")
        assert error["payment_status"] == "processing"
        assert "may have authorized" in error["hint"]
        assert "same Idempotency-Key" in error["hint"]
        payment_id = error["payment_id"]
        stored = shop.get(payment_id).json()
        assert stored["status"] == "processing"
        assert stored["connector_transaction_id"] is None
        (authorization,) = _wait_for_authorization(very_slow, payment_id)
        # the retry sends the same processor idempotency key: the processor answers the
        # first authorization instead of making a second one
        resolved = shop.pay(body, key)
        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["status"] == "succeeded"
        assert resolved.json()["connector_transaction_id"] == authorization["id"]
        assert len(very_slow.authorizations(payment_id)) == 1
        # without a key the payment stays processing, and the answer says why
        unkeyed = assert_error(shop.pay(body), 503, "processor_unavailable")
        assert unkeyed["payment_status"] == "processing"
        assert "Without an Idempotency-Key" in unkeyed["hint"]
