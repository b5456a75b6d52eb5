"""The speed benchmarks' text: public-set sentences the model did not train on, each once, shuffled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.speed_batch import render
from benchmarks.speed_text import trained_on_public, unseen_sentences

PUBLIC = os.environ.get("STANCE_PUBLIC_DATA")
needs_public = pytest.mark.skipif(not PUBLIC, reason="STANCE_PUBLIC_DATA is not set (CI sets it to ../shared/data)")


def test_a_manifest_that_lists_a_public_file_is_trained_on_public() -> None:
    corpus_only = {"training_data": {"files": [{"path": "data/corpus/europe.jsonl"}]}}
    with_public = {"training_data": {"files": [{"path": "/x/conflibert_cameo/train.tsv"}]}}
    assert not trained_on_public(corpus_only) and trained_on_public(with_public) and not trained_on_public({})


@needs_public
def test_each_sentence_once_and_only_held_out_rows_for_a_model_trained_on_them() -> None:
    assert PUBLIC is not None
    everything = unseen_sentences(Path(PUBLIC), {})
    assert len(everything) == len(set(everything)) > 20_000
    assert all(sentence and sentence == " ".join(sentence.split()) for sentence in everything)
    held_out = unseen_sentences(Path(PUBLIC), {"training_data": {"files": [{"path": "newsmtsc/train.jsonl"}]}})
    assert 0 < len(held_out) < len(everything) / 3 and set(held_out) <= set(everything)


def test_the_whole_process_table_states_the_ratios() -> None:
    ways = {
        name: {"command": f"`{name}`", "rate": rate, "seconds": 1.0, "bytes_per_row": 800.0}
        for name, rate in [("fasttext", 1000.0), ("ours", 1600.0), ("workers", 3000.0), ("precision", 1700.0)]
    }
    ways["parquet"] = {"command": "`parquet`", "rate": 1500.0, "seconds": 1.0, "bytes_per_row": 250.0}
    ways["sentences"] = {"command": "`sentences`", "rate": 1200.0, "seconds": 1.0, "bytes_per_row": 1100.0}
    lines = "\n".join(render({"rows": 100, "ways": ways, "identical": True, "fasttext_mb": 2400.0}))
    assert "**1.60x** (target 1.5x)" in lines and "**1.88x** (target 1.8x)" in lines
    assert "with actors on" in lines and "**1.20x** fastText, 0.75x the default output" in lines
    assert "byte-identical to the one-process output: True" in lines
