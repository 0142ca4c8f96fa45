"""docs/quickstart.md followed literally: every shell block runs as written (ports swapped for
the free ones this test's `up` got) in a directory whose `.vaultswitch` is `up`'s data dir."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from up_support import Up

QUICKSTART = Path(__file__).resolve().parents[3] / "docs" / "quickstart.md"
pytestmark = pytest.mark.slow


def _blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", QUICKSTART.read_text(), flags=re.S)


def test_quickstart_starts_with_dev_up_and_has_the_printed_block() -> None:
    blocks = _blocks()
    assert blocks[0].strip() == "./dev up"
    assert "/v2/payments" in blocks[1]


def test_every_quickstart_block_runs_as_written(tmp_path: Path) -> None:
    up = Up(tmp_path / ".vaultswitch", cwd=tmp_path)
    try:
        info = up.wait_up(time.time() - 1)
        bindir = str(Path(sys.executable).parent) + "/"
        outputs = []
        for block in _blocks()[1:]:
            script = (
                block.replace("http://127.0.0.1:8220", str(info["vault_url"]))
                .replace("http://127.0.0.1:8221", str(info["orchestrator_url"]))
                .replace(".venv/bin/", bindir)
                .replace("./dev vaultswitch ", f"{sys.executable} -m vaultswitch.cli ")
            )
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, f"{block}\n---\n{done.stdout}\n{done.stderr}"
            outputs.append(done.stdout)
    finally:
        up.stop()
    paid, demo, vgs_curl, vgs_client = outputs
    assert json.loads(paid.strip())["status"] == "succeeded"
    assert "demo complete" in demo
    assert "stored as 411111" in vgs_curl
    assert '"value":"4111111111111111"' in vgs_curl.replace(" ", "")  # the reveal
    assert "delete: HTTP 204" in vgs_curl
    assert "revealed: 1111 (last 4)" in vgs_client
    assert "deleted" in vgs_client
