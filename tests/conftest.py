"""Shared fixtures: a small bundle trained once per session on a slice of the shipped corpus (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.settings import Settings
from service.model.bundle import Bundle, load_bundle, set_current
from service.model.paths import CORPUS_DIR
from training.data import load_examples
from training.examples import Example
from training.fitted import load_fitted
from training.train import train_bundle

SLICE_ROWS = 800


@pytest.fixture(scope="session")
def corpus() -> list[Example]:
    return load_examples([CORPUS_DIR])


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory, corpus: list[Example]) -> Path:
    """A models folder whose `current` bundle was trained on the corpus's first training rows with the default
    configuration (every block, the sentence-embedding block too), so the tests serve and explain all of them."""
    out = tmp_path_factory.mktemp("models")
    train = [ex for ex in corpus if ex.split in ("train", "dev")][:SLICE_ROWS]
    bundle_dir = train_bundle(train, [CORPUS_DIR], out)
    set_current(out, bundle_dir.name)
    return out


@pytest.fixture(scope="session")
def bundle(models_dir: Path) -> Bundle:
    return load_bundle(models_dir / "current")


@pytest.fixture(scope="session")
def fitted(bundle: Bundle) -> tuple[Any, dict[str, Any]]:
    """The session bundle's fitted scikit-learn objects: (vectorizer, classifier per head)."""
    return load_fitted(bundle.path)


@pytest.fixture()
def client(bundle: Bundle) -> TestClient:
    with TestClient(create_app(Settings(model_path=bundle.path), bundle)) as test_client:
        yield test_client
