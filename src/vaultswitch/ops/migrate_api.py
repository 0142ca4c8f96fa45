"""The orchestrator's vault-migration API (``/v2/vault-migrations``) as `vaultswitch
migrate` calls it: over HTTP with the merchant's API key, so a remote deployment works the
same as `vaultswitch up`.

Transient trouble (no connection, 429, 502-504) is retried a few times, honouring
Retry-After; a step is safe to send again (the server records each batch's outcomes
itself). Anything else stops the run with the orchestrator's own code, message and hint.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from .target import Target

#: how many times a request is sent before the run stops
ATTEMPTS = 5
RETRY_STATUSES = frozenset({429, 502, 503, 504})
PAGE = 100
RESUME_HINT = (
    "Fix it, then run the same command again (`vaultswitch migrate --from SOURCE --to "
    "TARGET ...`): it continues where it stopped."
)


class MigrateStopped(Exception):
    """The orchestrator refused a request of the run, or could not be reached."""

    code = "MIGRATE_STOPPED"

    def __init__(self, detail: str, hint: str) -> None:
        super().__init__(detail)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class StepAnswer:
    migration: dict[str, Any]
    results: list[dict[str, Any]]
    more: bool


def _retry_after(response: httpx.Response | None, attempt: int) -> float:
    if response is not None:
        try:
            seconds = float(str(response.headers.get("retry-after", "")))
        except ValueError:
            pass
        else:
            return min(30.0, max(0.1, seconds))
    return min(8.0, 0.25 * 2.0**attempt)


def _stopped(method: str, path: str, response: httpx.Response) -> MigrateStopped:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return MigrateStopped(
            f"{method} {path}: HTTP {response.status_code} without an orchestrator error body",
            "Check that --orchestrator-url names the orchestrator (its /health answers) and "
            "not another server. " + RESUME_HINT,
        )
    field = f" (field {error['field']})" if error.get("field") else ""
    return MigrateStopped(
        f"{method} {path}: HTTP {response.status_code} {error.get('code', '')}: "
        f"{error.get('message', '')}{field}",
        str(error.get("hint") or RESUME_HINT),
    )


class MigrationApi:
    """``async with MigrationApi(target) as api: ...``"""

    def __init__(self, target: Target, *, timeout: float = 120.0) -> None:
        self.target = target
        self._http = httpx.AsyncClient(
            base_url=target.url, headers=target.headers(), timeout=timeout, trust_env=False
        )

    async def __aenter__(self) -> MigrationApi:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        for attempt in range(ATTEMPTS):
            last = attempt == ATTEMPTS - 1
            try:
                response = await self._http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                if last:
                    raise MigrateStopped(
                        f"cannot reach the orchestrator at {self.target.url} "
                        f"({type(exc).__name__})",
                        "Check that it is running (`vaultswitch up`) and that "
                        "--orchestrator-url names it. " + RESUME_HINT,
                    ) from None
                await asyncio.sleep(_retry_after(None, attempt))
                continue
            if response.status_code in RETRY_STATUSES and not last:
                await asyncio.sleep(_retry_after(response, attempt))
                continue
            if response.status_code >= 400:
                raise _stopped(method, path, response)
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise MigrateStopped(
                    f"{method} {path}: the answer is not a JSON object",
                    "Check that --orchestrator-url names the orchestrator. " + RESUME_HINT,
                )
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    async def start(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/v2/vault-migrations", json=body)

    async def get(self, migration_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/v2/vault-migrations/{migration_id}")

    async def step(
        self, migration_id: str, phase: str, *, batch_size: int, restart: bool = False
    ) -> StepAnswer:
        """``phase``: ``step`` (move), ``verify`` or ``delete-source``."""
        body = await self._call(
            "POST",
            f"/v2/vault-migrations/{migration_id}/{phase}",
            json={"batch_size": batch_size, "restart": restart},
        )
        return StepAnswer(body["migration"], list(body["results"]), bool(body["more"]))

    async def items(self, migration_id: str) -> AsyncIterator[dict[str, Any]]:
        """Every item of the migration, in its order."""
        offset = 0
        while True:
            page = await self._call(
                "GET",
                f"/v2/vault-migrations/{migration_id}/items",
                params={"offset": offset, "limit": PAGE},
            )
            data = list(page["data"])
            for item in data:
                yield item
            offset += len(data)
            if not data or offset >= int(page["total_count"]):
                return
