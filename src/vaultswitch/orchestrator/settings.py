"""Orchestrator settings: CLI flags > `VAULTSWITCH_ORCHESTRATOR_*` env > TOML `[orchestrator]`
> defaults. The defaults run on one machine with no configuration (SQLite in the data dir)."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from vaultswitch.config_file import TomlSection, normalise_database_url
from vaultswitch.domain.secret import Secret

ENV_PREFIX = "VAULTSWITCH_ORCHESTRATOR_"


class _TomlOrchestratorSection(TomlSection):
    """Reads the `[orchestrator]` table of the TOML config file (if any)."""

    table = "orchestrator"


class OrchestratorSettings(BaseSettings):
    """Configuration of the orchestrator server.

    ``admin_api_key``: the key of ``Authorization: admin-api-key=<key>``; when unset, the
    key in ``admin_api_key_file`` (default ``<data_dir>/admin.key``, created 0600 on first
    start). ``master_key``: urlsafe-base64 of 32 bytes that encrypts connector credentials
    and customer PII and keys the API-key hashes; when unset, ``master_key_file`` (default
    ``<data_dir>/orchestrator.key``, created 0600 on first start).

    ``internal_vault_*``: the vault used by profiles without an external vault (our own
    vault, reached through the VGS connector like any other).
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    data_dir: Path = Path(".vaultswitch")
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = "vaultswitch:orchestrator:"
    host: str = "127.0.0.1"
    port: int = 8221
    workers: int = 1
    log_level: str = "info"
    admin_api_key: Secret | None = None
    admin_api_key_file: Path | None = None
    master_key: Secret | None = None
    master_key_file: Path | None = None
    cell_id: str = "cell1"
    internal_vault_base_url: str | None = None
    internal_vault_auth_base_url: str | None = None
    internal_vault_id: str | None = None
    internal_vault_client_id: str | None = None
    internal_vault_client_secret: Secret | None = None
    #: read timeout of processor calls; past it the payment is `processing` (outcome unknown)
    processor_timeout_seconds: float = 30.0
    #: our own vault's admin API (``/admin/...`` on the vault server) and its bearer token:
    #: the control center's "Local vault" page uses them (`vaultswitch up` sets both)
    vault_admin_url: str | None = None
    vault_admin_token: Secret | None = None

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError("must be from 0 to 65535 (0 = any free port)")
        return value

    @field_validator("processor_timeout_seconds")
    @classmethod
    def _processor_timeout(cls, value: float) -> float:
        if not 0 < value <= 600:
            raise ValueError("must be more than 0 and at most 600 seconds")
        return value

    @field_validator("cell_id")
    @classmethod
    def _cell(cls, value: str) -> str:
        if not value or not value.isalnum() or len(value) > 16:
            raise ValueError("must be 1-16 letters or digits")
        return value.lower()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlOrchestratorSection(settings_cls))

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL (SQLite file `orchestrator.db` under data_dir unless configured)."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{self.data_dir / 'orchestrator.db'}"

    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "orchestrator.key"

    def resolved_admin_api_key_file(self) -> Path:
        return self.admin_api_key_file or self.data_dir / "admin.key"

    def has_internal_vault(self) -> bool:
        return bool(self.internal_vault_id and self.internal_vault_client_id)
