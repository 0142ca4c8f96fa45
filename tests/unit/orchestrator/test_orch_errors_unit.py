"""Error rendering: the catch-all never leaks exception text; validation names fields only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from vaultswitch.domain.errors import VaultNotFound, VaultUnavailable
from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.app import create_app
from vaultswitch.orchestrator.errors import from_vaultswitch_error
from vaultswitch.orchestrator.settings import OrchestratorSettings

PAN = "4111111111111111"
NOT_A_PAN = "4111111111111112"  # fails Luhn: reaches the field validation, must not echo


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_number: str
    count: int


def _app(tmp_path: Path) -> object:
    app = create_app(OrchestratorSettings(data_dir=tmp_path, admin_api_key=Secret("k")))
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"card {PAN} leaked")

    @router.get("/vault-down")
    async def vault_down() -> None:
        raise VaultUnavailable(retry_after=2.2)

    @router.post("/echo")
    async def echo(body: _Body) -> dict[str, str]:
        return {"ok": "yes"}

    app.include_router(router)
    return app


@pytest.fixture
async def client(tmp_path: Path) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=_app(tmp_path), raise_app_exceptions=False)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://orch")


async def test_an_unexpected_exception_is_a_500_without_its_text(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "HE_00"
    assert error["type"] == "api"
    assert PAN not in response.text
    assert "leaked" not in response.text
    assert response.headers["x-request-id"] == error["request_id"]


async def test_vault_errors_keep_their_status_code_and_hint(client: httpx.AsyncClient) -> None:
    response = await client.get("/vault-down")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "vault_unavailable"
    assert error["type"] == "server_not_available"
    assert error["hint"]
    assert response.headers["retry-after"] == "2"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{not json", 400, "IR_06", "body"),
        (b'{"count": 1}', 400, "IR_04", "card_number"),
        (f'{{"card_number": "x", "count": "x{NOT_A_PAN}"}}'.encode(), 400, "IR_07", "count"),
        (f'{{"card_number": "x", "count": 1, "cvc": "{NOT_A_PAN}"}}'.encode(), 400, "IR_07", "cvc"),
        (f'["{NOT_A_PAN}"]'.encode(), 400, "IR_06", "body"),
        # a real card number outside the card fields is refused before validation
        (f'{{"card_number": "x", "count": "x {PAN}"}}'.encode(), 422, "IR_06", "count"),
        (f'{{"card_number": "x", "count": 1, "cvc": "{PAN}"}}'.encode(), 422, "IR_06", "cvc"),
    ],
)
async def test_validation_errors_name_the_field_and_never_echo_the_value(
    client: httpx.AsyncClient, body: bytes, status: int, code: str, field: str
) -> None:
    response = await client.post(
        "/echo", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["field"] == field
    assert field in error["message"]
    assert PAN not in response.text
    assert NOT_A_PAN not in response.text


def test_vault_configuration_failures_map_to_424_connector_errors() -> None:
    error = from_vaultswitch_error(VaultNotFound(field="connector_account_details.api_secret"))
    assert error.status == 424
    body = error.body()["error"]
    assert body["type"] == "connector_error"
    assert body["code"] == "vault_not_found"
    assert body["field"] == "connector_account_details.api_secret"
    assert "sandbox" in body["hint"]
