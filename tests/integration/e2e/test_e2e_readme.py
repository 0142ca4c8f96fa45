"""The README's Python example runs as written against a live vault (URLs and credentials
substituted)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from e2e_support import VaultAccount

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_example_stores_and_reveals_a_card(http_account: VaultAccount) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    code = blocks[0]
    code = code.replace("http://127.0.0.1:8220", http_account.url)
    code = code.replace("<client id>", http_account.oauth.api_key.reveal())
    code = code.replace("<client secret>", http_account.oauth.key1.reveal())
    code = code.replace("<vault id>", http_account.vault_id)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    printed = out.getvalue()
    assert "SingleVaultId(alias='tok_sandbox_" in printed
    assert "411111******1111" in printed
    assert "4111111111111111" not in printed
