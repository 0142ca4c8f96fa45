"""No plaintext value reaches the SQLite file or its WAL (PANs persistent, CVCs volatile)."""

from __future__ import annotations

import json
from pathlib import Path

from vc_helpers import CTX, nv, open_service

CARDS = Path(__file__).resolve().parents[2] / "data" / "cards.json"
FORMATS = ["UUID", "FPE_SIX_T_FOUR", "PFPT", "GENERIC_T_FOUR", "NON_LUHN_FPE_ALPHANUMERIC"]


def _pans() -> list[str]:
    data = json.loads(CARDS.read_text())
    return [pan for brand in data["valid"].values() for pan in brand]


def test_database_files_hold_no_pan_or_cvc(tmp_path: Path) -> None:
    pans = _pans()
    # Real CVCs are 3-4 digits, which occur by chance in any binary file; tag them so a
    # match can only mean the value itself was written.
    cvcs = [f"cvc{i:03d}q" for i in range(len(pans))]
    db = tmp_path / "vault.db"
    svc = open_service(f"sqlite:///{db}", tmp_path)
    try:
        vid = svc.create_vault().vault_id
        aliases = []
        for pan, cvc in zip(pans, cvcs, strict=True):
            recs = svc.create_aliases(
                vid,
                [nv(pan, fmt, "card") for fmt in FORMATS] + [nv(cvc, "UUID", storage="VOLATILE")],
                CTX,
            )
            aliases.append(recs[0].aliases[0].alias)
        revealed = svc.reveal(vid, aliases[:20], "PERSISTENT", CTX)
        assert {r.value.reveal() for r in revealed.values()} <= set(pans)
        files = [p for p in tmp_path.iterdir() if p.name.startswith("vault.db")]
        assert any(p.name.endswith("-wal") for p in files)
        _assert_absent(files, pans, cvcs)
    finally:
        svc.close()
    _assert_absent([p for p in tmp_path.iterdir() if p.name.startswith("vault.db")], pans, cvcs)


def _assert_absent(files: list[Path], pans: list[str], cvcs: list[str]) -> None:
    assert files
    for path in files:
        blob = path.read_bytes()
        for secret in [*pans, *cvcs]:
            assert secret.encode() not in blob, f"{path.name} holds a plaintext value"
            assert secret.encode("utf-16-le") not in blob
