"""A document's relations: each pair of actors named in the same sentence, how many sentences and their labels.

A sentence that names no actor but refers to a pair ("Both countries agreed...", "the two sides", "their shared
border") counts for the pair named just before it: the sentence right before it names exactly two actors, or is
itself such a reference. Any other sentence in between breaks the chain (tests/model/test_relations.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

_PAIR_NOUNS = r"(?:countries|nations|sides|governments|neighbou?rs|capitals|states|allies|rivals|delegations|leaders)"
REFERS_TO_PAIR = re.compile(
    rf"\b(?:both {_PAIR_NOUNS}|the two {_PAIR_NOUNS}|their (?:shared|common|joint) border)\b", re.IGNORECASE
)

Pair = tuple[str, str]


def pair_sentences(actor_ids: Sequence[Sequence[str]], texts: Sequence[str]) -> dict[Pair, list[int]]:
    """The sentence indices of every pair of actors: sentences naming both, and references right after them."""
    pairs: dict[Pair, list[int]] = {}
    previous: Pair | None = None  # the pair a reference in the next sentence would stand for
    for index, (ids, text) in enumerate(zip(actor_ids, texts, strict=True)):
        distinct = sorted(set(ids))
        for pair in combinations(distinct, 2):
            pairs.setdefault(pair, []).append(index)
        if len(distinct) == 2:
            previous = (distinct[0], distinct[1])
        elif not distinct and previous is not None and REFERS_TO_PAIR.search(text):
            pairs[previous].append(index)
        else:
            previous = None
    return pairs


def relations(
    actor_ids: Sequence[Sequence[str]],
    texts: Sequence[str],
    labels: Mapping[str, Sequence[str]],
    head_labels: Mapping[str, Sequence[str]],
) -> list[dict[str, Any]]:
    """One record per pair, pairs sorted: `{"actors": [a, b], "sentences": n, "indices": [...], <head>: {label:
    share}}`, the shares over the pair's sentences, every label of `head_labels` listed (`labels[head][i]` is
    sentence i's label on that head)."""
    records = []
    for pair, indices in sorted(pair_sentences(actor_ids, texts).items()):
        record: dict[str, Any] = {"actors": list(pair), "sentences": len(indices), "indices": indices}
        for head, names in head_labels.items():
            counts = dict.fromkeys(names, 0)
            chosen = labels[head]
            for index in indices:
                counts[chosen[index]] += 1
            record[head] = {name: count / len(indices) for name, count in counts.items()}
        records.append(record)
    return records
