"""Fixtures: one stack (vault + processor + orchestrator) per module, one Chromium per
session, a fresh browser context and screenshot folder per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# the orchestrator tests' helpers (serve_orchestrator, open_shop, ...) are reused here
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration" / "orchestrator"))

from dash_support import CHROMIUM, Browserless, Dash, Stack, chromium_missing, serve_stack
from playwright.sync_api import Browser, Playwright, sync_playwright


# module scope, not session (nor package: without __init__.py that is the whole run):
# Playwright's sync API keeps an event loop running in this thread while it lives, which
# would break every asyncio test that runs after these
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    chromium_missing()
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Debian's Chromium (Playwright's own browser download is not used); root needs --no-sandbox
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with serve_stack(tmp_path_factory.mktemp("dashboard")) as live:
        yield live


@pytest.fixture
def dash(browser: Browser, stack: Stack, tmp_path: Path) -> Iterator[Dash]:
    """A new browser context (no cookies) at desktop size; screenshots in tmp_path/shots."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        yield Dash(page, stack, tmp_path / "shots")
    finally:
        context.close()


@pytest.fixture
def plain(stack: Stack) -> Iterator[Browserless]:
    client = Browserless(stack)
    try:
        yield client
    finally:
        client.close()
