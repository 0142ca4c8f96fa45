"""`up.json`: every URL and first-run credential of a running `vaultswitch up`, mode 0600.

Scripts, tests and CI read it to use the running system. Its keys are an interface:
``vault_url``, ``orchestrator_url``, ``processor_url``, ``admin_api_key``, ``merchant_id``,
``profile_id``, ``api_key``, ``vault_id``, ``client_id``, ``client_secret``, ``v1_username``,
``v1_password``, ``vault_connector_id``, ``processor_connector_id``, ``dashboard_url`` (the
control center), ``vault_admin_token`` (the vault's admin API) and ``vault_management_url``
(VGS's vault-management API for routes: the vault's URL) (later servers add their
URLs). The file holds secrets in clear on purpose; it is the one place they are kept.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

UP_FILE = "up.json"
REQUIRED_KEYS = (
    "vault_url",
    "orchestrator_url",
    "processor_url",
    "admin_api_key",
    "merchant_id",
    "profile_id",
    "api_key",
    "vault_id",
    "client_id",
    "client_secret",
    "v1_username",
    "v1_password",
    "vault_connector_id",
    "processor_connector_id",
    "dashboard_url",
    "vault_admin_token",
    "vault_management_url",
)


class UpFileError(Exception):
    """`up.json` is missing or unreadable; ``hint`` says what to run."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def up_file(data_dir: Path) -> Path:
    return data_dir / UP_FILE


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make it 0700: only its owner may list or read it."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def read_up_file(data_dir: Path) -> dict[str, Any]:
    """The contents of ``<data_dir>/up.json``; UpFileError when there is none."""
    path = up_file(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UpFileError(
            f"no {UP_FILE} in {data_dir}: vaultswitch up has not run with this data dir",
            f"start the system with `vaultswitch up --data-dir {data_dir}` (or `./dev up`), "
            "or pass the data dir it uses with --data-dir",
        ) from None
    except (OSError, ValueError) as exc:
        raise UpFileError(
            f"{path} cannot be read ({type(exc).__name__})",
            f"remove it and run `vaultswitch up --data-dir {data_dir}` again",
        ) from None
    if not isinstance(data, dict):
        raise UpFileError(
            f"{path} is not a JSON object",
            f"remove it and run `vaultswitch up --data-dir {data_dir}` again",
        )
    return data


def load_previous(data_dir: Path) -> dict[str, Any]:
    """What an earlier `up` wrote, or an empty dict on the first run."""
    try:
        return read_up_file(data_dir)
    except UpFileError:
        return {}


def write_up_file(data_dir: Path, data: dict[str, Any]) -> Path:
    """Write ``up.json`` atomically, created 0600 (never readable by others, not even briefly)."""
    ensure_private_dir(data_dir)
    path = up_file(data_dir)
    fd, tmp = tempfile.mkstemp(prefix=".up-", suffix=".json", dir=data_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
