"""Every authorization endpoint needs a key the processor accepts; a wrong key is a 401."""

from __future__ import annotations

import httpx
import pytest
from proc_support import APPROVED, Processor, body


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing_api_key"),
        ("", "missing_api_key"),
        ("Bearer", "missing_api_key"),
        ("Basic c2tfdGVzdDo=", "missing_api_key"),
        ("sk_test_processor_key_one", "missing_api_key"),  # no scheme
        ("Bearer sk_test_wrong_key_123", "invalid_api_key"),
        ("Bearer SK_TEST_PROCESSOR_KEY_ONE", "invalid_api_key"),
        ("Bearer sk_test_processor_key_on", "invalid_api_key"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/authorizations"),
        ("GET", "/v1/authorizations?reference=pay_auth"),
        ("GET", "/v1/authorizations/auth_000000000000000000000000"),
    ],
)
def test_without_an_accepted_key_every_endpoint_is_a_401(
    processor: Processor, authorization: str | None, code: str, method: str, path: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.request(
        method,
        processor.url + path,
        headers=headers,
        json=body(APPROVED, "pay_auth") if method == "POST" else None,
    )
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["field"] == "Authorization"
    assert error["hint"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "sk_test" not in response.text.lower()


def test_the_key_is_checked_before_the_body(processor: Processor) -> None:
    response = httpx.post(
        processor.url + "/v1/authorizations",
        content=b"not json",
        headers={"Authorization": "Bearer wrong_key_123"},
    )
    assert response.status_code == 401
    assert processor.authorizations("pay_auth") == []


def test_each_accepted_key_authorizes(processor: Processor) -> None:
    for key in (processor.api_key, processor.other_api_key):
        with processor.client(key) as client:
            response = client.post("/v1/authorizations", json=body(APPROVED, "pay_two_keys"))
        assert response.status_code == 201
    assert len(processor.authorizations("pay_two_keys")) == 1
    assert len(processor.authorizations("pay_two_keys", processor.other_api_key)) == 1
