"""`vaultswitch processor serve` as a user runs it: a real process on a free port."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from proc_support import APPROVED, OUTCOMES, body

KEY = "sk_cli_test_key_0123456789"
CVC = "321"


@dataclass
class Running:
    proc: subprocess.Popen[str]
    url: str
    stderr: list[str] = field(default_factory=list)


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "vaultswitch.cli", "processor", "serve", *args]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTSWITCH_PROCESSOR_")}
    return {**env, "NO_COLOR": "1", **extra}


@contextmanager
def _serve(*args: str, **env: str) -> Iterator[Running]:
    proc = subprocess.Popen(
        _command("--port", "0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(**env),
    )
    stdout, stderr = proc.stdout, proc.stderr
    assert stdout is not None
    assert stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []

    def read_stdout() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read_stdout, daemon=True).start()
    reader = threading.Thread(target=lambda: errors.extend(stderr), daemon=True)
    reader.start()
    try:
        try:
            url = lines.get(timeout=30).strip()
        except queue.Empty:
            raise AssertionError(f"no URL printed; stderr:\n{''.join(errors)}") from None
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        running = Running(proc, url, errors)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=10)


def test_serve_on_port_0_prints_the_url_and_authorizes() -> None:
    with _serve("--api-key", KEY) as running:
        auth = {"Authorization": f"Bearer {KEY}"}
        health = httpx.get(running.url + "/health")
        assert health.status_code == 200
        answers = {}
        for number in OUTCOMES:
            payload = body(number, "pay_cli")
            payload["card"]["cvc"] = CVC
            response = httpx.post(
                running.url + "/v1/authorizations",
                json=payload,
                headers={**auth, "X-Request-Id": f"test-{number[-4:]}"},
            )
            assert response.status_code == 201
            assert response.headers["x-request-id"] == f"test-{number[-4:]}"
            answers[number] = response.json()
        bad = httpx.post(
            running.url + "/v1/authorizations",
            json=body("4111111111111112", "pay_cli"),
            headers=auth,
        )
        assert bad.status_code == 400
        wrong_key = httpx.get(
            running.url + "/v1/authorizations", headers={"Authorization": "Bearer nope_nope"}
        )
        assert wrong_key.status_code == 401
    assert running.proc.returncode in (0, 130)  # Ctrl-C: a clean stop, exit status 130
    assert "Traceback" not in "".join(running.stderr)
    for number, answer in answers.items():
        expected = OUTCOMES[number]
        assert answer.get("decline_code", answer["status"]) == expected

    text = "".join(running.stderr)
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests = [e for e in events if e.get("event") == "request"]
    by_id = {e["request_id"]: e for e in requests}
    for number in OUTCOMES:
        line = by_id[f"test-{number[-4:]}"]
        assert line["status"] == 201
        assert line["path"] == "/v1/authorizations"
        assert line["authorization_id"] == answers[number]["id"]
        assert line["outcome"] == answers[number]["status"]
    assert by_id[bad.headers["x-request-id"]]["status"] == 400
    assert by_id[wrong_key.headers["x-request-id"]]["status"] == 401
    for secret in (*OUTCOMES, "4111111111111112", KEY, "nope_nope"):
        assert secret not in text
    assert f'"{CVC}"' not in text  # (bare digits can turn up in a timestamp)


def test_without_a_key_one_is_generated_and_shown_once() -> None:
    with _serve() as running:
        # the banner is written before the URL: it is there once the URL is
        match = None
        for _ in range(100):
            match = re.search(r"\(shown once\): (sk_sandbox_\S+)", "".join(running.stderr))
            if match:
                break
            time.sleep(0.05)
        assert match, "".join(running.stderr)
        key = match.group(1)
        response = httpx.post(
            running.url + "/v1/authorizations",
            json=body(APPROVED, "pay_generated"),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 201
    assert "".join(running.stderr).count(key) == 1


def test_the_key_can_come_from_the_environment() -> None:
    with _serve(VAULTSWITCH_PROCESSOR_API_KEY=KEY) as running:
        response = httpx.post(
            running.url + "/v1/authorizations",
            json=body(APPROVED, "pay_env"),
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert response.status_code == 201
    assert KEY not in "".join(running.stderr)


def test_a_bad_key_is_refused_without_echoing_it() -> None:
    result = subprocess.run(
        _command("--port", "0", "--api-key", "short7!"),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert result.returncode == 2
    assert "--api-key" in result.stderr
    assert "hint:" in result.stderr
    assert "short7!" not in result.stderr + result.stdout


def test_a_port_in_use_is_refused_with_a_hint() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*_command("--port", str(port), "--api-key", KEY)],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=60,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
