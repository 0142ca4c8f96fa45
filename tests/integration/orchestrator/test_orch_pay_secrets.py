"""After payments with new and saved cards (approved, declined, failed at the processor,
with and without Idempotency-Key), no card number is in the orchestrator's database file
or its log lines, and the log lines that are there say what happened."""

from __future__ import annotations

import io
import json
import socket
import uuid
from pathlib import Path

import structlog
from orch_pay_support import (
    ALL_NUMBERS,
    AMEX,
    APPROVED,
    DECLINES,
    OTHER_APPROVED,
    open_shop,
    serve_processor,
)
from orch_support import LiveVault, Orchestrator

from vaultswitch.logs import configure_logging


def _db_bytes(data_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("orchestrator.db*")))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_card_number_in_the_database_or_the_logs(
    orchestrator: Orchestrator, live_vault: LiveVault
) -> None:
    stream = io.StringIO()
    configure_logging("debug", stream=stream)
    try:
        with serve_processor() as processor:
            shop = open_shop(orchestrator, processor.url, live_vault)
            for number in (APPROVED, OTHER_APPROVED, AMEX, *DECLINES):
                pm_id = shop.save_card(number, with_cvc=True)
                assert shop.pay(shop.saved_payment(pm_id)).status_code == 200
                assert shop.pay(shop.card_payment(number), str(uuid.uuid4())).status_code == 200
            key = str(uuid.uuid4())
            intent = orchestrator.http.post(
                "/v2/payments/create-intent",
                json={"amount_details": shop.amount()},
                headers={**shop.headers, "Idempotency-Key": key},
            ).json()
            confirm = shop.card_payment(OTHER_APPROVED)
            for field in ("amount_details", "customer_id"):
                confirm.pop(field)
            confirmed = orchestrator.http.post(
                f"/v2/payments/{intent['id']}/confirm-intent", json=confirm, headers=shop.headers
            )
            assert confirmed.json()["status"] == "succeeded"
        down = open_shop(
            orchestrator, f"http://127.0.0.1:{_closed_port()}/", live_vault, name="Down"
        )
        assert down.pay(down.card_payment(APPROVED), "k-down").status_code == 503
        bad = shop.card_payment("4242424242424241")
        assert shop.pay(bad).status_code == 400
    finally:
        structlog.reset_defaults()
    log_text = stream.getvalue()
    attempts = [
        json.loads(line)
        for line in log_text.splitlines()
        if line.startswith("{") and '"payment.attempt"' in line
    ]
    assert len(attempts) == 2 * (3 + len(DECLINES)) + 2
    assert {a["status"] for a in attempts} == {"succeeded", "failed"}
    assert {a["error_code"] for a in attempts} >= {*DECLINES.values(), "processor_unavailable"}
    data = _db_bytes(orchestrator.settings.data_dir)
    assert data
    for number in (*ALL_NUMBERS, "4242424242424241"):
        assert number not in log_text, number
        assert number.encode() not in data, number
