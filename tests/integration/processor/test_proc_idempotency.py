"""Idempotency-Key: a retry gets the first answer and no second authorization, also when the
retries arrive together; the same key with another body is a 422."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from proc_support import APPROVED, Processor, body


def _ref() -> str:
    return f"pay_{uuid.uuid4().hex}"


def test_a_retry_gets_the_same_authorization(processor: Processor) -> None:
    reference, key = _ref(), str(uuid.uuid4())
    with processor.client() as client:
        first = client.post(
            "/v1/authorizations", json=body(APPROVED, reference), headers={"Idempotency-Key": key}
        )
        retry = client.post(
            "/v1/authorizations", json=body(APPROVED, reference), headers={"Idempotency-Key": key}
        )
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["idempotent-replayed"] == "true"
    assert len(processor.authorizations(reference)) == 1


def test_a_declined_answer_is_replayed_too(processor: Processor) -> None:
    reference, key = _ref(), str(uuid.uuid4())
    payload = body("4000000000000002", reference)
    with processor.client() as client:
        answers = [
            client.post("/v1/authorizations", json=payload, headers={"Idempotency-Key": key})
            for _ in range(3)
        ]
    assert {a.json()["id"] for a in answers} == {answers[0].json()["id"]}
    assert answers[0].json()["decline_code"] == "card_declined"
    assert len(processor.authorizations(reference)) == 1


def test_the_same_key_with_another_body_is_refused(processor: Processor) -> None:
    reference, key = _ref(), str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    with processor.client() as client:
        first = client.post("/v1/authorizations", json=body(APPROVED, reference), headers=headers)
        changes = [
            {"amount": 1051},
            {"currency": "EUR"},
            {"reference": reference + "x"},
            {"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099}},
        ]
        refused = [
            client.post(
                "/v1/authorizations", json={**body(APPROVED, reference), **c}, headers=headers
            )
            for c in changes
        ]
    assert first.status_code == 201
    for response in refused:
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "idempotency_key_reused"
        assert error["field"] == "Idempotency-Key"
    assert len(processor.authorizations(reference)) == 1


def test_keys_belong_to_one_api_key(processor: Processor) -> None:
    reference, key = _ref(), str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    with processor.client() as mine, processor.client(processor.other_api_key) as theirs:
        a = mine.post("/v1/authorizations", json=body(APPROVED, reference), headers=headers)
        b = theirs.post("/v1/authorizations", json=body(APPROVED, reference), headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_a_refused_body_does_not_use_up_the_key(processor: Processor) -> None:
    reference, key = _ref(), str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    with processor.client() as client:
        bad = client.post(
            "/v1/authorizations", json=body(APPROVED, reference, amount=0), headers=headers
        )
        good = client.post("/v1/authorizations", json=body(APPROVED, reference), headers=headers)
    assert bad.status_code == 400
    assert good.status_code == 201
    assert "idempotent-replayed" not in good.headers


async def _burst(
    processor: Processor, payloads: list[dict[str, object]], key: str
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(payloads))
    async with processor.async_client(limits=limits, timeout=30) as client:
        return list(
            await asyncio.gather(
                *(
                    client.post(
                        "/v1/authorizations", json=payload, headers={"Idempotency-Key": key}
                    )
                    for payload in payloads
                )
            )
        )


def test_concurrent_identical_retries_make_exactly_one_authorization(
    slow_processor: Processor,
) -> None:
    # each authorization takes 300 ms: the retries arrive while the first is in flight
    reference, key = _ref(), str(uuid.uuid4())
    answers = asyncio.run(_burst(slow_processor, [body(APPROVED, reference)] * 20, key))
    assert [a.status_code for a in answers] == [201] * 20
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum("idempotent-replayed" not in a.headers for a in answers) == 1
    assert len(slow_processor.authorizations(reference)) == 1


def test_concurrent_different_bodies_under_one_key_make_one_authorization(
    slow_processor: Processor,
) -> None:
    reference, key = _ref(), str(uuid.uuid4())
    payloads = [body(APPROVED, reference, amount=100 + i) for i in range(10)]
    answers = asyncio.run(_burst(slow_processor, payloads, key))
    assert sorted(a.status_code for a in answers) == [201] + [422] * 9
    assert len(slow_processor.authorizations(reference)) == 1
