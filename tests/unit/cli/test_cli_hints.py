"""Hints are runnable: every `vaultswitch ...` command a hint names exists, with its flags."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from vaultswitch.cli import app
from vaultswitch.orchestrator.settings import OrchestratorSettings
from vaultswitch.processor.settings import ProcessorSettings
from vaultswitch.troubleshooting import COMMAND_RE, all_entries, runnable_hint
from vaultswitch.vault.settings import VaultSettings

SRC = Path(__file__).resolve().parents[3] / "src" / "vaultswitch"
ROOT_COMMAND = typer.main.get_command(app)


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")  # typer's (vendored) click Group


def _resolve(command: str, *, whole: bool = True) -> tuple[list[str], Any, list[str]]:
    """The subcommand path a `vaultswitch ...` command names, its click command, its flags."""
    tokens = shlex.split(command)
    assert tokens[0] == "vaultswitch", command
    path: list[str] = []
    current: Any = ROOT_COMMAND
    rest = tokens[1:]
    while rest and _is_group(current) and not rest[0].startswith("-"):
        found = current.commands.get(rest[0])
        assert found is not None, f"`{command}`: {rest[0]!r} is not a command of {path}"
        path.append(rest.pop(0))
        current = found
    if whole and _is_group(current):
        assert current.invoke_without_command, f"`{command}` names a group, not a command"
    flags = [t.split("=", 1)[0] for t in rest if t.startswith("--")]
    return path, current, flags


def _check(command: str, *, whole: bool = True) -> None:
    """The command exists and takes its flags; ``whole=False``: a command cut short (at an
    f-string placeholder) may stop at a group."""
    path, found, flags = _resolve(command, whole=whole)
    known = {"--help"} | {opt for p in found.params for opt in (*p.opts, *p.secondary_opts)}
    missing = [f for f in flags if f not in known]
    assert missing == [], f"`{command}`: {missing} not options of `vaultswitch {' '.join(path)}`"
    required = [
        p.opts[0]
        for p in found.params
        if p.required and p.opts[0].startswith("--") and not set(p.opts) & set(flags)
    ]
    assert not whole or required == [], f"`{command}` lacks required {required}"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, (command, result.output)
    for flag in flags:
        assert flag in result.output, (command, flag)


def _catalogue_commands() -> list[str]:
    return sorted({c for entry in all_entries() for c in COMMAND_RE.findall(entry.hint)})


def test_the_catalogue_names_commands() -> None:
    commands = _catalogue_commands()
    assert len(commands) >= 10
    assert "vaultswitch vault reveal enable --vault ID" in commands


@pytest.mark.parametrize("command", _catalogue_commands())
def test_every_command_in_a_catalogue_hint_runs_with_help(command: str) -> None:
    _check(command)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _source_commands() -> list[tuple[str, str]]:
    """`vaultswitch ...` commands in string literals of src (not docstrings).

    An f-string's command is checked up to its first placeholder (marked with " ...").
    """
    found = set()
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(
                    v.value if isinstance(v, ast.Constant) else "\0" for v in node.values
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in skip:
                    continue
                text = node.value
            else:
                continue
            for command in COMMAND_RE.findall(text):
                if "\0" in command:
                    command = command.split("\0", 1)[0].strip() + " ..."
                found.add((str(path.relative_to(SRC)), command))
    return sorted(found)


def test_source_strings_name_commands() -> None:
    assert len(_source_commands()) >= 10


@pytest.mark.parametrize(("where", "command"), _source_commands())
def test_every_command_in_a_message_of_the_code_runs_with_help(where: str, command: str) -> None:
    _check(command.removesuffix(" ..."), whole=not command.endswith(" ..."))


def test_loopback_urls_in_the_code_use_the_default_ports() -> None:
    defaults = {
        VaultSettings.model_fields["port"].default,
        OrchestratorSettings.model_fields["port"].default,
        ProcessorSettings.model_fields["port"].default,
    }
    assert 8220 in defaults
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        for port in re.findall(r"(?:127\.0\.0\.1|localhost):(\d+)", path.read_text("utf-8")):
            if int(port) not in defaults:
                wrong.append((str(path.relative_to(SRC)), port))
    assert wrong == []


def test_runnable_hint_adds_the_data_dir_to_vault_commands_only() -> None:
    hint = (
        "Run `vaultswitch vault list`, `vaultswitch up`, `vaultswitch explain CODE` or "
        "`vaultswitch vault create --data-dir DIR`."
    )
    assert runnable_hint(hint, "") == hint
    assert runnable_hint(hint, " --data-dir /srv/v") == (
        "Run `vaultswitch vault list --data-dir /srv/v`, `vaultswitch up --data-dir /srv/v`, "
        "`vaultswitch explain CODE` or `vaultswitch vault create --data-dir DIR`."
    )


def test_the_data_dir_flag_is_empty_only_for_the_default(tmp_path: Path) -> None:
    assert VaultSettings().data_dir_flag() == ""
    assert VaultSettings(data_dir=tmp_path / "a b").data_dir_flag() == (
        " --data-dir " + shlex.quote(str(tmp_path / "a b"))
    )
