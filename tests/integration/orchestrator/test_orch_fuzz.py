"""Property: whatever JSON body and headers reach these routes, the answer is never a 5xx,
every error is Hyperswitch's body with our hint, and no error echoes a card number."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from orch_support import (
    MerchantSetup,
    Orchestrator,
    new_merchant,
    orchestrator_settings,
    serve_orchestrator,
)

PAN = "4111111111111111"

ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/v2/merchant-accounts"),
    ("GET", "/v2/merchant-accounts/{merchant_id}"),
    ("POST", "/v2/api-keys"),
    ("GET", "/v2/api-keys/list"),
    ("GET", "/v2/api-keys/{key_id}"),
    ("PUT", "/v2/api-keys/{key_id}"),
    ("POST", "/v2/profiles"),
    ("GET", "/v2/profiles/{profile_id}"),
    ("PUT", "/v2/profiles/{profile_id}"),
    ("POST", "/v2/customers"),
    ("GET", "/v2/customers/list"),
    ("GET", "/v2/customers/{customer_id}"),
    ("GET", "/v2/customers/reference/{reference}"),
    ("POST", "/v2/connector-accounts"),
    ("GET", "/v2/connector-accounts/{account_id}"),
    ("PUT", "/v2/connector-accounts/{account_id}"),
    ("POST", "/v2/connector-accounts/{account_id}/verify"),
    ("GET", "/v2/profiles/{profile_id}/connector-accounts"),
)
FIELDS = (
    "merchant_name",
    "metadata",
    "name",
    "description",
    "expiration",
    "profile_name",
    "return_url",
    "is_external_vault_enabled",
    "external_vault_connector_details",
    "vault_connector_id",
    "multi_token",
    "email",
    "phone",
    "merchant_reference_id",
    "connector_type",
    "connector_name",
    "profile_id",
    "connector_label",
    "connector_account_details",
    "auth_type",
    "api_key",
    "key1",
    "api_secret",
    "disabled",
    "status",
    "merchant_id",
)
ENUMS = (
    "never",
    "enable",
    "skip",
    "vault_processor",
    "payment_processor",
    "vgs",
    "sandbox",
    "SignatureKey",
    "HeaderKey",
    "active",
    "inactive",
    "2999-01-01T00:00:00Z",
    "tntabc12345",
    PAN,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(ENUMS),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), children, max_size=5
        ),
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8),
    json_values,
    st.binary(max_size=40),
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Orchestrator, MerchantSetup, dict[str, str]]]:
    # any call to a vault outside loopback goes to a closed port and fails at once
    mp = pytest.MonkeyPatch()
    dead = f"http://127.0.0.1:{_closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        mp.setenv(name, dead)
    mp.setenv("NO_PROXY", "127.0.0.1,localhost")
    settings_ = orchestrator_settings(tmp_path_factory.mktemp("fuzz") / "orchestrator")
    try:
        with serve_orchestrator(settings_) as orch:
            setup = new_merchant(orch)
            key = orch.create_api_key(setup.merchant_id)
            customer = orch.http.post(
                "/v2/customers",
                json={"name": "n", "email": "n@e.x", "merchant_reference_id": "ref1"},
                headers=setup.headers,
            ).json()
            account = orch.http.post(
                "/v2/connector-accounts",
                json={
                    "connector_type": "vault_processor",
                    "connector_name": "vgs",
                    "profile_id": setup.profile_id,
                    "connector_account_details": {
                        "auth_type": "SignatureKey",
                        "api_key": "ACfuzz",
                        "key1": "fuzz-secret",
                        "api_secret": "tntabc12345",
                    },
                    "metadata": {"vault_base_url": dead + "/{{vault_id}}/", "auth_base_url": dead},
                },
                headers=orch.admin(setup.merchant_id),
            ).json()
            ids = {
                "merchant_id": setup.merchant_id,
                "key_id": key["key_id"],
                "profile_id": setup.profile_id,
                "customer_id": customer["id"],
                "reference": "ref1",
                "account_id": account["id"],
            }
            yield orch, setup, ids
    finally:
        mp.undo()


def _headers(
    draw: Any, orch: Orchestrator, setup: MerchantSetup, ids: dict[str, str]
) -> dict[str, str]:
    headers: dict[str, str] = {}
    auth = draw(
        st.sampled_from(
            [None, f"admin-api-key={orch.admin_key}", f"api-key={setup.api_key}", "garbage"]
        )
    )
    if auth == "garbage":
        auth = draw(  # h11 refuses a header value with outer white space: not the server's
            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(
                str.strip
            )
        )
    if auth is not None:
        headers["Authorization"] = auth
    for name, good in (("X-Merchant-Id", ids["merchant_id"]), ("X-Profile-Id", ids["profile_id"])):
        choice = draw(st.sampled_from(["none", "good", "random"]))
        if choice == "good":
            headers[name] = good
        elif choice == "random":
            headers[name] = draw(
                st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20)
            )
    return headers


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_causes_a_5xx_or_a_foreign_error_shape(
    world: tuple[Orchestrator, MerchantSetup, dict[str, str]], data: st.DataObject
) -> None:
    orch, setup, ids = world
    method, template = data.draw(st.sampled_from(ROUTES))
    path_ids = {k: data.draw(st.sampled_from([v, "x" + v[1:], PAN])) for k, v in ids.items()}
    path = template.format(**path_ids)
    headers = data.draw(st.builds(dict)) | _headers(data.draw, orch, setup, ids)
    body = data.draw(bodies)
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT"):
        if isinstance(body, bytes):
            kwargs["content"] = body
            headers["Content-Type"] = "application/json"
        else:
            kwargs["json"] = body
    response = orch.http.request(method, path, **kwargs)
    assert response.status_code < 500, (method, path, response.text)
    assert response.headers["x-request-id"]
    if response.status_code >= 400:
        payload = response.json()
        assert set(payload) == {"error"}
        error = payload["error"]
        for key in ("type", "code", "message", "hint"):
            assert isinstance(error[key], str), key
            assert error[key], key
        assert PAN not in response.text
