"""Where a process gets its master key, and finding the key a database is under now.

The key comes from ``VAULTSWITCH_MASTER_KEY`` (``settings.master_key``) or from the key
file (``master_key_file``, default ``<data_dir>/master.key``). ``vaultswitch vault
rotate-master-key`` stages the new key in ``master.key.new``, re-wraps every key in one
transaction, then moves the staged file over ``master.key``: between the commit and the
move (or if the command stops there) the staged file holds the database's key, so both
files are looked at. A key given in the environment cannot change under a running process.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from vaultswitch.domain.secret import Secret, reveal_optional
from vaultswitch.vault.core import crypto
from vaultswitch.vault.core.errors import VaultApiError
from vaultswitch.vault.settings import VaultSettings

STAGED_SUFFIX = ".new"


@dataclass(frozen=True, slots=True)
class MasterKeySource:
    """The configured master key: a value from the environment, or a key file."""

    key_text: Secret | None
    key_file: Path

    @classmethod
    def of(cls, settings: VaultSettings) -> MasterKeySource:
        return cls(settings.master_key, settings.resolved_master_key_file())

    @property
    def from_env(self) -> bool:
        return self.key_text is not None

    @property
    def staged_file(self) -> Path:
        """Where ``rotate-master-key`` writes the new key before it replaces the key file."""
        return self.key_file.with_name(self.key_file.name + STAGED_SUFFIX)

    def load(self, *, create: bool = True) -> crypto.MasterKey | None:
        """The configured key; the key file is created (0600) on first use when create.

        None when the key file does not exist and create is False.
        """
        text = reveal_optional(self.key_text)
        if not text and not create and not self.key_file.exists():
            return None
        return crypto.MasterKey(crypto.load_or_create_master_key(text, self.key_file))

    def find(self, key_id: str) -> crypto.MasterKey | None:
        """The key with that id among what this source holds now (key file, staged file)."""
        for key in self._candidates():
            if key.key_id == key_id:
                return key
        return None

    def _candidates(self) -> list[crypto.MasterKey]:
        text = reveal_optional(self.key_text)
        if text:
            return [crypto.MasterKey(crypto.decode_master_key(text))]
        found = []
        for path in (self.key_file, self.staged_file):
            # a file may be missing, half-replaced or unreadable: it is then not a candidate
            with contextlib.suppress(OSError, UnicodeDecodeError, VaultApiError):
                found.append(crypto.MasterKey(crypto.decode_master_key(path.read_text("ascii"))))
        return found

    def describe(self) -> str:
        """Where the key comes from, for messages (never the key)."""
        return "VAULTSWITCH_MASTER_KEY" if self.from_env else f"the key file {self.key_file}"
