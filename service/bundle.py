"""The model bundle format: `models/<version>/{model.joblib,manifest.json}` plus `models/current`.

The joblib file holds a dict with the fitted `vectorizer` and one fitted classifier per head under `heads`.
Loading a joblib file runs code, so the loader checks the file's SHA-256 against the manifest first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib

from service.linear import LinearScorer, UnsupportedModel, compile_scorer

HEADS: dict[str, tuple[str, ...]] = {
    "topic": ("security", "diplomacy", "economy", "society", "politics", "other"),
    "stance": ("cooperative", "threat", "economic", "neutral"),
    "sentiment": ("positive", "negative", "neutral"),
}
MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "current"
FORMAT_VERSION = 1
_VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class BundleError(Exception):
    """A bundle is missing, malformed or fails its integrity check."""


@dataclass(frozen=True)
class Bundle:
    """A loaded, verified model: the shared vectorizer, one classifier per head, and the fast scorer folded
    from them (`service.linear`), which is what predictions use."""

    path: Path
    manifest: dict[str, Any]
    vectorizer: Any
    heads: dict[str, Any]
    scorer: LinearScorer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "scorer", compile_scorer(self.vectorizer, self.heads))
        except UnsupportedModel as error:
            raise BundleError(f"the model in {self.path} can't be served: {error}") from error

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_bundle_dir(path: Path) -> Path:
    """Accept a bundle folder, a `current` pointer file, or a models folder that holds one."""
    path = Path(path)
    if path.is_dir() and (path / CURRENT_FILE).is_file() and not (path / MANIFEST_FILE).exists():
        path = path / CURRENT_FILE
    if path.is_file() and path.name == CURRENT_FILE:
        version = path.read_text(encoding="utf-8").strip()
        if not _VERSION_PATTERN.match(version):
            raise BundleError(f"{path} does not name a bundle version: {version!r}")
        path = path.parent / version
    if not (path / MANIFEST_FILE).is_file():
        raise BundleError(f"no model bundle at {path}: {MANIFEST_FILE} not found (train one with `stance train`)")
    return path


def load_bundle(path: Path) -> Bundle:
    """Load a bundle after checking the joblib file's SHA-256 against its manifest."""
    bundle_dir = resolve_bundle_dir(path)
    try:
        manifest = json.loads((bundle_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        expected = manifest["model_file"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BundleError(f"unreadable manifest in {bundle_dir}: {error}") from error
    model_path = bundle_dir / MODEL_FILE
    if not model_path.is_file():
        raise BundleError(f"{model_path} is missing")
    actual = sha256_file(model_path)
    if actual != expected:
        raise BundleError(
            f"refusing to load {model_path}: its SHA-256 is {actual} but the manifest says {expected}; "
            "the file was changed after training"
        )
    payload = joblib.load(model_path)
    return Bundle(path=bundle_dir, manifest=manifest, vectorizer=payload["vectorizer"], heads=payload["heads"])


def write_bundle(
    models_dir: Path, version: str, vectorizer: Any, heads: dict[str, Any], manifest: dict[str, Any]
) -> Path:
    """Write `models_dir/version` atomically: build it in a temporary folder, then rename it into place."""
    if not _VERSION_PATTERN.match(version):
        raise BundleError(f"invalid bundle version {version!r}")
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / version
    if final.exists():
        raise BundleError(f"{final} already exists")
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=models_dir))
    try:
        joblib.dump({"vectorizer": vectorizer, "heads": heads}, staging / MODEL_FILE)
        manifest = {
            **manifest,
            "format_version": FORMAT_VERSION,
            "version": version,
            "model_file": {"name": MODEL_FILE, "sha256": sha256_file(staging / MODEL_FILE)},
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def set_current(models_dir: Path, version: str) -> None:
    """Point `models_dir/current` at a bundle, replacing the pointer atomically."""
    if not (models_dir / version / MANIFEST_FILE).is_file():
        raise BundleError(f"no bundle {version!r} in {models_dir}")
    pointer = models_dir / f".{CURRENT_FILE}.tmp"
    pointer.write_text(version + "\n", encoding="utf-8")
    os.replace(pointer, models_dir / CURRENT_FILE)
