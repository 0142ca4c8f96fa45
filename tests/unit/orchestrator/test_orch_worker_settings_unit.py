"""Worker processes of `serve --workers N` read their settings from the environment the
parent exports: every setting given to serve() reaches them, not only a listed few."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from vaultswitch.domain.secret import Secret
from vaultswitch.orchestrator.server import export_settings
from vaultswitch.orchestrator.settings import ENV_PREFIX, OrchestratorSettings

#: what only the parent uses: it binds the socket and starts the workers
PARENT_ONLY = {"host", "port", "workers"}


def _non_default(name: str, value: Any, tmp_path: Path) -> Any:
    overrides: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": "postgresql+psycopg://u@127.0.0.1:5432/db",
        "redis_url": "redis://127.0.0.1:6379/3",
        "log_level": "debug",
        "cell_id": "cell7",
        "processor_timeout_seconds": 4.5,
        "admin_api_key_file": tmp_path / "admin.key",
        "master_key_file": tmp_path / "master.key",
    }
    if name in overrides:
        return overrides[name]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2
    if isinstance(value, Secret) or name.endswith(("_secret", "_key")):
        return Secret(f"{name}-value")
    return f"{name}-value"


def _revealed(value: Any) -> Any:
    return value.reveal() if isinstance(value, Secret) else value


def test_every_setting_given_to_serve_reaches_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith(ENV_PREFIX) or key == "VAULTSWITCH_CONFIG":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no ./vaultswitch.toml
    defaults = OrchestratorSettings()
    given = {
        name: _non_default(name, getattr(defaults, name), tmp_path)
        for name in OrchestratorSettings.model_fields
        if name not in PARENT_ONLY
    }
    settings = OrchestratorSettings(**given)
    for name in given:  # each one really differs from its default
        assert _revealed(getattr(settings, name)) != _revealed(getattr(defaults, name)), name

    with monkeypatch.context() as env:
        for name in given:  # export_settings writes os.environ: undo it afterwards
            env.setenv(f"{ENV_PREFIX}{name.upper()}", "placeholder")
            env.delenv(f"{ENV_PREFIX}{name.upper()}")
        export_settings(settings)
        in_worker = OrchestratorSettings()
        for name in given:
            assert _revealed(getattr(in_worker, name)) == _revealed(getattr(settings, name)), name
