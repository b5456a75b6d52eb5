"""Which training levers help: each variant of the default configuration, scored on the dev portions.

    python -m benchmarks.levers --public ../shared/data      (make levers)

Every variant trains on the corpus train split plus the public training portions, as `make train-public` does,
and is scored on each source's dev portion (never its test portion), with predictions restricted to the labels
the source uses. C is fixed per variant (no search) so that the levers themselves are compared.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from service.model.bundle import Bundle
from service.model.paths import CORPUS_DIR, PROJECT_ROOT
from training.compile import compile_scorer
from training.data import load_examples
from training.evaluate import evaluate
from training.examples import Example
from training.markdown import machine, update_file
from training.sources import add_public_option, public_folder, public_training_specs
from training.train import DEFAULT_PARAMS, fit, source_of

VARIANTS: dict[str, dict[str, Any]] = {
    "default (word 1-2 + char_wb 2-5, sublinear tf, balanced, C=4)": {},
    "C=2": {"C_grid": [2.0]},
    "C=8": {"C_grid": [8.0]},
    "char_wb 1-5": {"char_ngram_range": [1, 5]},
    "char_wb 2-6": {"char_ngram_range": [2, 6]},
    "no class weighting": {"class_weight": None},
    "corpus rows weighted 3x": {"source_weights": {"own": 3.0}},
    "UN QuadClass rows weighted 0.5x": {"source_weights": {"un-quadclass": 0.5}},
}


def score_variant(train: list[Example], dev: dict[str, list[Example]], variant: dict[str, Any]) -> dict[str, float]:
    params = {**DEFAULT_PARAMS, "C_grid": [4.0], **variant}
    vectorizer, heads = fit(train, params)
    bundle = Bundle(path=Path("."), manifest={"version": "lever"}, scorer=compile_scorer(vectorizer, heads))
    scores = {}
    for source, rows in dev.items():
        for head, figures in evaluate(bundle, rows, restrict_to_gold_labels=True)["heads"].items():
            scores[f"{source}/{head}"] = figures["macro_f1"]
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.levers", description=__doc__)
    add_public_option(parser)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    public = public_folder(parser, args.public)
    labeled = load_examples([CORPUS_DIR, *public_training_specs(public)])
    train = [ex for ex in labeled if ex.split == "train"]
    dev: dict[str, list[Example]] = {}
    for ex in labeled:
        if ex.split == "dev":
            dev.setdefault(source_of(ex), []).append(ex)
    rows = {}
    for name, variant in VARIANTS.items():
        started = time.perf_counter()
        rows[name] = score_variant(train, dev, variant)
        print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    columns = list(next(iter(rows.values())))
    lines = [
        f"Machine: {machine()}. Command: `make levers`. Dev macro-F1 (restricted to each source's labels).",
        "",
        "| variant | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    lines += [f"| {name} | " + " | ".join(f"{scores[c]:.3f}" for c in columns) + " |" for name, scores in rows.items()]
    table = "\n".join(lines) + "\n"
    update_file(args.out, "levers", "## Training levers tried\n\n" + table, title="Benchmarks")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
