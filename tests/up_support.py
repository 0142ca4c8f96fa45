"""`vaultswitch up` run as a user runs it, for the tests (tests/ is on sys.path)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vaultswitch.up.banner import SNIPPET_END, SNIPPET_START


class Up:
    def __init__(self, data_dir: Path, cwd: Path | None = None) -> None:
        self.data_dir = data_dir
        self.log = data_dir.parent / f"up-{time.monotonic_ns()}.log"
        self.out = self.log.open("w")
        env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "USERNAME": "someone-else"}
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "vaultswitch.cli", "up", "--data-dir", str(data_dir)),
                *("--vault-port", "0", "--orchestrator-port", "0", "--processor-port", "0"),
            ],
            stdout=self.out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
        )

    def wait_up(self, started: float) -> dict[str, object]:
        up_json = self.data_dir / "up.json"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "up exited early:\n" + self.log.read_text()
            if up_json.exists() and up_json.stat().st_mtime >= started:
                text = self.log.read_text()
                if SNIPPET_END in text:
                    return dict(json.loads(up_json.read_text()))
            time.sleep(0.2)
        raise AssertionError("up did not write up.json:\n" + self.log.read_text())

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=30) == 0
        self.out.close()
        return self.log.read_text()


def snippet(output: str) -> str:
    """The copy-paste block `up` printed."""
    start = output.index(SNIPPET_START)
    return output[start : output.index(SNIPPET_END, start)]
