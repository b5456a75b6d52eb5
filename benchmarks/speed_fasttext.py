"""fastText doing what `stance classify in.jsonl -o out.jsonl` does, as a process of its own, for `make bench`:
three supervised models (one per head, trained on the corpus train split with the hyperparameters of the quality
benchmark's peer, `benchmarks.peers.fasttext_peer`), reading the same JSONL and writing one JSON line per row with
every head's label, score and scores, encoded by the same library as ours (orjson).

`python -m benchmarks.speed_fasttext MODELS_DIR IN.jsonl OUT.jsonl`; `train_models` writes MODELS_DIR.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import orjson

from service.model.bundle import HEADS
from training.examples import Example

PREFIX = "__label__"


def train_models(train: list[Example], folder: Path) -> dict[str, Path]:
    """One fastText model per head, as the quality benchmark's peer trains them, saved as `<head>.bin` in `folder`."""
    from benchmarks.peers import train_fasttext  # scikit-learn too: kept out of the timed process's imports

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for head, model in train_fasttext(train, folder).items():
        paths[head] = folder / f"{head}.bin"
        model.save_model(str(paths[head]))
    return paths


def label_file(folder: Path, source: Path, target: Path) -> None:
    import fasttext

    models = {head: fasttext.load_model(str(folder / f"{head}.bin")) for head in HEADS}
    with source.open("rb") as rows, target.open("wb") as out:
        for line in rows:
            record = json.loads(line)
            text = " ".join(record["text"].split())
            answer = {"id": record.get("id"), "text": record["text"]}
            for head, model in models.items():
                # The binding's own predict: its Python wrapper fails under NumPy 2 (see benchmarks.peers).
                ranked = model.f.predict(text, -1, 0.0, "strict")
                scores = {label.removeprefix(PREFIX): probability for probability, label in ranked}
                best = ranked[0][1].removeprefix(PREFIX) if ranked else None  # none for a text without words
                answer[head] = {"label": best, "score": scores.get(best, 0.0), "scores": scores}
            out.write(orjson.dumps(answer, option=orjson.OPT_APPEND_NEWLINE))


if __name__ == "__main__":
    label_file(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
