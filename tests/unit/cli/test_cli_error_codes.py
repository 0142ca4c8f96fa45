"""Every error code the code emits is in the catalogue; `explain` knows them; the catalogue's
limits come from the constants the server enforces; admin options refuse nonsense."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vaultswitch.cli import app
from vaultswitch.troubleshooting import all_entries, find_entries, render_markdown
from vaultswitch.vault.core.aliases import check_classifiers
from vaultswitch.vault.core.errors import BadRequest
from vaultswitch.vault.core.models import MAX_CLASSIFIER_LENGTH, MAX_CLASSIFIERS
from vaultswitch.vault.http.wire import parse_classifiers

SRC = Path(__file__).resolve().parents[3] / "src" / "vaultswitch"
# Where an error code is the n-th positional argument of a call.
_CODE_ARG = {
    "_fail": 0,
    "oauth_error": 1,
    "bad_request": 1,  # the vault's (detail, code); the proxy's takes (detail, hint, code=)
    "ApiError": 1,
    "ProxyError": 1,
    "config_error": 0,
}
_VAULT_ONLY = {"bad_request"}


def _emitting_files() -> list[Path]:
    """Every module: the vault, connectors and client, the orchestrator (`ApiError(status,
    code, ...)`), the sandbox processor and every CLI; not migrations, nor the catalogue."""
    skip = {"migrations", "troubleshooting.py", "troubleshooting_api.py"}
    return sorted(p for p in SRC.rglob("*.py") if not set(p.relative_to(SRC).parts) & skip)


def _emitted_codes() -> dict[str, set[str]]:
    """code -> files: `code="X"` keywords, `default_code`/`code` class attributes, and the
    code argument of `_fail(...)`, `oauth_error(...)`, `bad_request(...)`."""
    found: dict[str, set[str]] = {}

    def add(node: ast.AST | None, path: Path) -> None:
        if isinstance(node, ast.Name):  # a module constant: CODE = "..."
            node = constants.get(node.id)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.setdefault(node.value, set()).add(str(path.relative_to(SRC)))

    for path in _emitting_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: statement.value
            for statement in tree.body
            if isinstance(statement, ast.Assign)
            for target in statement.targets
            if isinstance(target, ast.Name) and target.id.isupper()
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                index = _CODE_ARG.get(name or "")
                if name in _VAULT_ONLY and "vault" not in path.relative_to(SRC).parts:
                    index = None
                if index is not None and len(node.args) > index:
                    add(node.args[index], path)
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        add(keyword.value, path)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                # a `code` parameter's default: def bad_request(..., code="X")
                params = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults))
                defaults += [*node.args.defaults, *node.args.kw_defaults]
                for param, default in zip(params, defaults, strict=True):
                    if param.arg == "code":
                        add(default, path)
            elif isinstance(node, ast.ClassDef):
                for statement in node.body:
                    targets = (
                        statement.targets
                        if isinstance(statement, ast.Assign)
                        else [statement.target]
                        if isinstance(statement, ast.AnnAssign)
                        else []
                    )
                    if any(
                        isinstance(t, ast.Name) and t.id in ("code", "default_code")
                        for t in targets
                    ):
                        add(statement.value, path)
    return found


def test_the_scan_sees_the_codes_of_every_layer() -> None:
    codes = _emitted_codes()
    for code in ("CANNOT_START", "REVEAL_DISABLED", "invalid_client", "vault_not_found"):
        assert code in codes
    assert "src" not in json.dumps(sorted(codes))  # codes, not paths
    assert len(codes) > 40


def test_every_emitted_code_is_in_the_catalogue() -> None:
    known = {entry.code for entry in all_entries()}
    missing = {code: sorted(files) for code, files in _emitted_codes().items() if code not in known}
    assert missing == {}, "add these codes to src/vaultswitch/troubleshooting.py"


def test_every_catalogue_entry_is_emitted_somewhere() -> None:
    emitted = set(_emitted_codes())
    checks = {"ok", "skipped", "vault_unreachable"}  # outcome codes of vaultswitch.client.checks
    unused = sorted(e.code for e in all_entries() if e.code not in emitted | checks)
    assert unused == []


@pytest.mark.parametrize("code", ["CANNOT_START", "NO_VAULT_DATA", "OUTPUT_REQUIRED"])
def test_explain_knows_the_command_line_codes(code: str) -> None:
    result = CliRunner().invoke(app, ["explain", code])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{code} (exit ")
    assert "hint: " in result.stdout


def test_explain_of_an_unknown_code_lists_the_known_ones() -> None:
    result = CliRunner().invoke(app, ["explain", "vault_notfound"])
    assert result.exit_code == 1
    assert "Did you mean: vault_not_found" in result.stderr
    listed = result.stderr.split("Known codes: ", 1)[1].split(".\n", 1)[0].split(", ")
    assert set(listed) == {entry.code for entry in all_entries()}


def test_the_classifier_limits_of_page_service_and_wire_are_one() -> None:
    page = render_markdown()
    assert f"at most {MAX_CLASSIFIERS} classifiers, each 1-{MAX_CLASSIFIER_LENGTH}" in page
    assert "255" not in page
    (single,) = find_entries("INVALID_CLASSIFIER")
    assert f"1-{MAX_CLASSIFIER_LENGTH} characters" in single.hint

    most = [f"t{i}" for i in range(MAX_CLASSIFIERS)]
    longest = "a" * MAX_CLASSIFIER_LENGTH
    assert len(check_classifiers([*most[:-1], longest])) == MAX_CLASSIFIERS
    assert len(parse_classifiers([*most[:-1], longest], "classifiers")) == MAX_CLASSIFIERS
    for refused in ([*most, "one-more"], [longest + "a"]):
        with pytest.raises(BadRequest):
            check_classifiers(refused)
        with pytest.raises(BadRequest):
            parse_classifiers(refused, "classifiers")


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_audit_refuses_a_limit_below_one(tmp_path: Path, limit: str) -> None:
    result = CliRunner().invoke(
        app, ["vault", "audit", "--limit", limit, "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--limit" in result.stderr
    assert "greater than or equal to 1" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_token_lifespan_error_has_a_token_lifespan_hint(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    vault_id = json.loads(CliRunner().invoke(app, ["vault", "create", *d]).stdout)["vault_id"]
    result = CliRunner().invoke(
        app, ["vault", "service-account", "--vault", vault_id, "--token-lifespan", "5", *d]
    )
    assert result.exit_code == 1
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["error"] == "INVALID_TOKEN_LIFESPAN"
    assert "--token-lifespan" in error["hint"]
    assert "Content-Type" not in error["hint"]
