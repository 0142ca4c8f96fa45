"""Vault server settings: CLI kwargs > `VAULTSWITCH_*` env > TOML `[vault]` > defaults."""

from __future__ import annotations

import os
import shlex
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from vaultswitch.domain.secret import Secret

DEFAULT_CONFIG_FILE = Path("vaultswitch.toml")
DEFAULT_DATA_DIR = Path(".vaultswitch")


def _config_file() -> Path | None:
    """The TOML file to read: `VAULTSWITCH_CONFIG` or `./vaultswitch.toml` when present."""
    env = os.environ.get("VAULTSWITCH_CONFIG")
    if env:
        return Path(env)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class _TomlVaultSection(PydanticBaseSettingsSource):
    """Reads the `[vault]` table of the TOML config file (if any)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = _config_file()
        data: dict[str, Any] = {}
        if path is not None and path.is_file():
            with path.open("rb") as fh:
                section = tomllib.load(fh).get("vault", {})
            if isinstance(section, dict):
                data = section
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        names = set(self.settings_cls.model_fields)
        return {k: v for k, v in self._data.items() if k in names}


def normalise_database_url(url: str) -> str:
    """Map `postgres://` / `postgresql://` to the psycopg 3 driver URL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


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
