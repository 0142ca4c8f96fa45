"""The route model is sans-IO and one-way: it may use the vault's core (alias formats,
storages), never the vault's HTTP layer; and the vault's core never imports the proxy package."""

from __future__ import annotations

import json
import subprocess
import sys


def _loaded_by(module: str) -> list[str]:
    script = f"import json, sys, {module}\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    loaded: list[str] = json.loads(out)
    return loaded


def test_the_route_model_loads_nothing_of_the_vault_http_layer_nor_any_io() -> None:
    loaded = _loaded_by("vaultswitch.proxy.routes")
    assert "vaultswitch.proxy.routes.matching" in loaded
    assert [m for m in loaded if m.startswith("vaultswitch.vault.http")] == []
    for io in ("httpx", "sqlalchemy", "starlette", "redis"):
        assert io not in loaded, io


def test_the_vault_core_loads_nothing_of_the_proxy_package() -> None:
    loaded = _loaded_by("vaultswitch.vault.core.service")
    assert "vaultswitch.vault.core.routes" in loaded
    assert [m for m in loaded if m.startswith("vaultswitch.proxy")] == []
