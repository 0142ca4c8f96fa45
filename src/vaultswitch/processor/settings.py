"""Sandbox processor settings: CLI flags > `VAULTSWITCH_PROCESSOR_*` env > defaults."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vaultswitch.domain.secret import Secret

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8230
MIN_API_KEY_LENGTH = 8
_API_KEY = re.compile(rf"[\x21-\x7e]{{{MIN_API_KEY_LENGTH},256}}")


def _key_problem(text: str) -> str | None:
    if not _API_KEY.fullmatch(text):
        return (
            f"an API key must be {MIN_API_KEY_LENGTH}-256 visible ASCII characters without spaces"
        )
    return None


class ProcessorSettings(BaseSettings):
    """Configuration of the sandbox processor server."""

    model_config = SettingsConfigDict(
        env_prefix="VAULTSWITCH_PROCESSOR_",
        extra="ignore",
        validate_default=True,
        hide_input_in_errors=True,
    )

    host: str = DEFAULT_HOST
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    #: one accepted key (env VAULTSWITCH_PROCESSOR_API_KEY)
    api_key: Secret | None = None
    #: more accepted keys (env VAULTSWITCH_PROCESSOR_API_KEYS, comma-separated)
    api_keys: Annotated[tuple[Secret, ...], NoDecode] = ()
    log_level: str = "info"
    #: simulated processing time per authorization, in milliseconds
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    #: authorizations (and idempotency keys) kept in memory; the oldest are dropped
    max_authorizations: int = Field(default=100_000, ge=1)
    max_body_bytes: int = Field(default=65_536, ge=1024)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: Secret | None) -> Secret | None:
        if value is not None:
            problem = _key_problem(value.reveal())
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, value: tuple[Secret, ...]) -> tuple[Secret, ...]:
        for key in value:
            problem = _key_problem(key.reveal())
            if problem:
                raise ValueError(problem)
        return value

    def accepted_api_keys(self) -> tuple[Secret, ...]:
        """Every key the processor accepts, in order (each is its own account)."""
        keys = ([self.api_key] if self.api_key is not None else []) + list(self.api_keys)
        unique: list[Secret] = []
        for key in keys:
            if key not in unique:
                unique.append(key)
        return tuple(unique)
