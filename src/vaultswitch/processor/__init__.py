"""The sandbox card processor: a small HTTP authorize API with fixed outcome cards (in memory)."""
