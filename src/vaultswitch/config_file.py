"""The shared configuration story of every server: CLI flags > environment > a table of the
TOML file (``$VAULTSWITCH_CONFIG``, or ``./vaultswitch.toml`` when present) > defaults."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

DEFAULT_CONFIG_FILE = Path("vaultswitch.toml")


def config_file() -> Path | None:
    """The TOML file to read: `VAULTSWITCH_CONFIG` or `./vaultswitch.toml` when present."""
    env = os.environ.get("VAULTSWITCH_CONFIG")
    if env:
        return Path(env)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class TomlSection(PydanticBaseSettingsSource):
    """Reads one table (``[vault]``, ``[orchestrator]``) of the TOML config file, if any."""

    table: str = ""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = config_file()
        data: dict[str, Any] = {}
        if path is not None and path.is_file():
            with path.open("rb") as fh:
                section = tomllib.load(fh).get(self.table, {})
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
