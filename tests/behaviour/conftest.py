"""The default model, trained once per session as `make train` trains it: on the shipped corpus alone."""

from __future__ import annotations

import pytest

from service.model.bundle import Bundle, load_bundle
from service.model.paths import CORPUS_DIR
from service.model.predict import predict
from training.examples import Example
from training.train import train_bundle


@pytest.fixture(scope="session")
def default_model(tmp_path_factory: pytest.TempPathFactory, corpus: list[Example]) -> Bundle:
    """The default configuration on the corpus's train and dev rows (the test split is never trained on)."""
    rows = [ex for ex in corpus if ex.split in ("train", "dev")]
    return load_bundle(train_bundle(rows, [CORPUS_DIR], tmp_path_factory.mktemp("default-model")))


def labels(model: Bundle, head: str, sentences: list[str]) -> list[str]:
    return [heads[head]["label"] for heads in predict(model, sentences)]


def probability(model: Bundle, head: str, label: str, sentence: str) -> float:
    [heads] = predict(model, [sentence])
    return heads[head]["scores"][label]


def known_failure(known: dict[str, str], key: str, prefix: str = "") -> list[pytest.MarkDecorator]:
    """An xfail mark naming what the model does instead, when `key` is one of the `known` failures."""
    return [pytest.mark.xfail(reason=f"known failure: {prefix}{known[key]}")] if key in known else []
