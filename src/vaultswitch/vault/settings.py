"""Vault server settings: CLI kwargs > `VAULTSWITCH_*` env > TOML `[vault]` > defaults."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from vaultswitch.config_file import TomlSection, normalise_database_url
from vaultswitch.domain.secret import Secret

DEFAULT_DATA_DIR = Path(".vaultswitch")


class _TomlVaultSection(TomlSection):
    """Reads the `[vault]` table of the TOML config file (if any)."""

    table = "vault"


class VaultSettings(BaseSettings):
    """Configuration of the vault server and its data layer."""

    model_config = SettingsConfigDict(
        env_prefix="VAULTSWITCH_", extra="ignore", validate_default=True
    )

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = "vaultswitch:"
    master_key: Secret | None = None
    master_key_file: Path | None = None
    environment: Literal["sandbox", "live"] = "sandbox"
    volatile_ttl: int = 3600
    rate_limit_per_minute: int = 3000
    max_body_bytes: int = 33_554_432
    max_items: int = 20
    host: str = "127.0.0.1"
    port: int = 8220
    workers: int = 1
    default_token_lifespan: int = 300
    log_level: str = "info"
    #: bearer token of the admin API (``/admin/...``); unset: the admin API is off
    admin_token: Secret | None = None

    @field_validator("volatile_ttl", "max_items", "max_body_bytes")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlVaultSection(settings_cls))

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL to use (SQLite file under data_dir unless configured)."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{self.data_dir / 'vault.db'}"

    def resolved_master_key_file(self) -> Path:
        """Where the master key file lives when no key is given directly."""
        return self.master_key_file or self.data_dir / "master.key"

    def data_dir_flag(self) -> str:
        """`` --data-dir DIR`` for a command shown in a hint ("" for the default data dir).

        With it, an admin command copied from a hint works on this process's data, even
        from another working directory or shell.
        """
        if self.data_dir == DEFAULT_DATA_DIR:
            return ""
        return " --data-dir " + shlex.quote(str(self.data_dir.resolve()))
