"""The hash table behind the n-gram lookups finds exactly what a dictionary finds."""

from __future__ import annotations

import numpy as np

from service.model.key_table import KeyTable


def test_finds_every_key_and_nothing_else() -> None:
    rng = np.random.default_rng(7)
    keys = np.unique(rng.integers(0, 2**62, size=50_000))
    values = rng.permutation(len(keys))
    table = KeyTable(keys, values)
    absent = np.setdiff1d(rng.integers(0, 2**62, size=50_000), keys)
    queries = np.concatenate([keys, absent, keys[:100], [-1, -2, 0, 2**63 - 1]])
    reference = dict(zip(keys.tolist(), values.tolist(), strict=True))
    expected = [reference.get(key, -1) for key in queries.tolist()]
    assert table.find(queries).tolist() == expected


def test_keys_that_share_a_slot_are_all_found() -> None:
    """Multiples of a power of two: nearby keys whose low bits are all equal, and long probe runs."""
    keys = np.arange(1, 2_001, dtype=np.int64) << 40
    table = KeyTable(keys, np.arange(2_000))
    assert table.find(keys).tolist() == list(range(2_000))
    assert table.find(keys + 1).tolist() == [-1] * 2_000


def test_empty_table_and_empty_queries() -> None:
    empty = KeyTable(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.intp))
    assert empty.find(np.array([0, 5, -1])).tolist() == [-1, -1, -1]
    assert empty.find(np.empty(0, dtype=np.int64)).tolist() == []
