"""Helpers: the sandbox processor on loopback (uvicorn in a thread) and request bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from live_uvicorn import LiveServer
from vaultswitch.processor.app import create_app
from vaultswitch.processor.settings import ProcessorSettings

TESTS_DIR = Path(__file__).resolve().parents[2]
CARDS = json.loads((TESTS_DIR / "data" / "cards.json").read_text(encoding="utf-8"))
#: card number -> "succeeded" or its decline code
OUTCOMES: dict[str, str] = CARDS["sandbox_processor_outcomes"]["cards"]
VALID_CARDS: list[tuple[str, str]] = [
    (brand, number) for brand, numbers in CARDS["valid"].items() for number in numbers
]
INVALID_NUMBERS: list[tuple[str, str]] = [(c["input"], c["why"]) for c in CARDS["invalid"]]

API_KEY = "sk_test_processor_key_one"
OTHER_API_KEY = "sk_test_processor_key_two"
APPROVED = "4111111111111111"


def card(number: Any = APPROVED, **overrides: Any) -> dict[str, Any]:
    """A card object (a None override leaves that field out)."""
    amex = isinstance(number, str) and number.startswith(("34", "37"))
    base: dict[str, Any] = {
        "number": number,
        "exp_month": 12,
        "exp_year": 2099,
        "cvc": "1234" if amex else "123",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def body(number: str = APPROVED, reference: str = "pay_test", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "amount": 1050,
        "currency": "USD",
        "reference": reference,
        "card": card(number),
    }
    payload.update(overrides)
    return payload


@dataclass
class Processor:
    url: str
    api_key: str
    other_api_key: str

    def client(self, api_key: str | None = None) -> httpx.Client:
        key = self.api_key if api_key is None else api_key
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"})

    def async_client(self, api_key: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        key = self.api_key if api_key is None else api_key
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, **kwargs
        )

    def authorizations(self, reference: str, api_key: str | None = None) -> list[dict[str, Any]]:
        with self.client(api_key) as client:
            response = client.get("/v1/authorizations", params={"reference": reference})
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


@contextmanager
def serve_processor(**settings: Any) -> Iterator[Processor]:
    config = ProcessorSettings(api_keys=(API_KEY, OTHER_API_KEY), **settings)
    server = LiveServer(create_app(config)).start()
    try:
        yield Processor(server.url, API_KEY, OTHER_API_KEY)
    finally:
        server.stop()
