"""Fixtures: the sandbox processor on loopback, accepting two API keys (two accounts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from proc_support import Processor, serve_processor


@pytest.fixture(scope="module")
def processor() -> Iterator[Processor]:
    """One processor per test module (it only grows: tests use their own references)."""
    with serve_processor() as live:
        yield live


@pytest.fixture(scope="module")
def slow_processor() -> Iterator[Processor]:
    """A processor that takes 300 ms per authorization, so that concurrent requests overlap."""
    with serve_processor(latency_ms=300) as live:
        yield live
