"""The shared card test vectors (a copy of shared/testdata/cards.json kept in tests/data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parents[2]
CARDS_JSON = TESTS_DIR / "data" / "cards.json"
SHARED_CARDS_JSON = (TESTS_DIR.parent / ".." / "shared" / "testdata" / "cards.json").resolve()


def load_cards() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CARDS_JSON.read_text(encoding="utf-8"))
    return data


CARDS = load_cards()
VALID = [(brand, number) for brand, numbers in CARDS["valid"].items() for number in numbers]
INVALID = [(case["input"], case["why"]) for case in CARDS["invalid"]]
NORMALIZE = [(case["input"], case["number"]) for case in CARDS["normalize"]]
MASKING = CARDS["masking_example"]
