"""The model bundle format: `models/<version>/{scorer.npz,model.joblib,manifest.json}` plus `models/current`.

`scorer.npz` is what the service serves: the compiled model as plain NumPy arrays (`service.model.linear`), read
without pickle and without scikit-learn (with the embedding block's table beside it, `embedding.npy`, kept out of
`model.joblib` too). `model.joblib` keeps the fitted scikit-learn objects for training and
inspection (`training.fitted`); the service never opens it. The manifest records every file's SHA-256; the
loader checks, before it reads the scorer, that the bundle lies inside the models folder it is given (paths
resolved, so no symlink or `current` pointer leads out of it) and the served files' SHA-256 against the manifest.

A bundle is written into a hidden staging folder (`.<version>.*`, with a `.writer` file naming its host and
process) and renamed into place, so a writer killed at any point leaves no `models/<version>` folder behind, only
a staging folder, which the loader never reads (versions can't start with a dot) and the next write removes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.model.files import atomic_file
from service.model.linear import EMBEDDING_TABLE_FILE, LinearScorer
from service.model.ngrams import UnsupportedModel
from service.model.paths import CURRENT_FILE

HEADS: dict[str, tuple[str, ...]] = {
    "topic": ("security", "diplomacy", "economy", "society", "politics", "other"),
    "stance": ("cooperative", "threat", "economic", "neutral"),
    "sentiment": ("positive", "negative", "neutral"),
}
SCORER_FILE = "scorer.npz"
FITTED_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 2  # 2: the served model is scorer.npz (1 served the pickled scikit-learn objects)
_VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
WRITER_FILE = ".writer"
# A staging folder is stale when its writer on this host is gone, or (another host's, or unmarked) after this long.
STALE_STAGING_SECONDS = 24 * 3600


class BundleError(Exception):
    """A bundle is missing, malformed or fails its integrity check."""


@dataclass(frozen=True)
class Bundle:
    """A loaded, verified model: its manifest and the compiled scorer that predictions use."""

    path: Path
    manifest: dict[str, Any]
    scorer: LinearScorer
    thresholds: dict[str, float] = field(init=False, repr=False, compare=False)
    # Each head's labels in the order answers list them: the API's (HEADS), then any other class of the model.
    labels: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    # Those labels' columns in the scorer's probability matrix, all heads in turn; a label the model never saw
    # gets the column just past the last (which `predict` fills with zeros).
    answer_columns: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", confidence_thresholds(self.path, self.manifest))
        labels, columns = {}, []
        width = max((segment.stop for segment in self.scorer.segments.values()), default=0)
        for head, classes in self.scorer.classes.items():
            known = HEADS.get(head, ())
            labels[head] = (*known, *(label for label in classes if label not in known))
            start = self.scorer.segments[head].start
            columns += [start + classes.index(label) if label in classes else width for label in labels[head]]
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "answer_columns", columns)

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def confidence_thresholds(path: Path, manifest: dict[str, Any]) -> dict[str, float]:
    """The manifest's per-head confidence thresholds, checked once at load: a head without one is always confident."""
    thresholds: Any = manifest.get("thresholds") or {}
    if not isinstance(thresholds, dict) or not all(
        isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
        for value in thresholds.values()
    ):
        raise BundleError(f"the manifest of {path} has invalid thresholds: {thresholds!r}")
    return {str(head): float(value) for head, value in thresholds.items()}


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


def check_inside(bundle_dir: Path, models_dir: Path) -> Path:
    """The resolved bundle folder, after checking that it (and its files) lie inside `models_dir`."""
    root = Path(models_dir).resolve()
    resolved = bundle_dir.resolve()
    outside = [
        p
        for p in (resolved, (bundle_dir / SCORER_FILE).resolve(), (bundle_dir / MANIFEST_FILE).resolve())
        if not p.is_relative_to(root)
    ]
    if outside or resolved == root:
        raise BundleError(
            f"refusing to load {bundle_dir}: it resolves to {outside[0] if outside else resolved}, which is not a "
            f"bundle inside the models folder {root}"
        )
    return resolved


def verified_file(bundle_dir: Path, manifest: dict[str, Any], name: str) -> Path:
    """One of the bundle's files, after checking its SHA-256 against the manifest."""
    try:
        expected = str(manifest["files"][name]["sha256"])
    except (KeyError, TypeError) as error:
        raise BundleError(f"the manifest of {bundle_dir} records no SHA-256 for {name}") from error
    path = bundle_dir / name
    if not path.is_file():
        raise BundleError(f"{path} is missing")
    actual = sha256_file(path)
    if actual != expected:
        raise BundleError(
            f"refusing to load {path}: its SHA-256 is {actual} but the manifest says {expected}; "
            "the file was changed after training"
        )
    return path


def read_manifest(bundle_dir: Path) -> dict[str, Any]:
    """The bundle's manifest, after checking that it is of the bundle format this version reads."""
    try:
        manifest = json.loads((bundle_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BundleError(f"unreadable manifest in {bundle_dir}: {error}") from error
    if not isinstance(manifest, dict):
        raise BundleError(f"unreadable manifest in {bundle_dir}: not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{bundle_dir} is a bundle of format {manifest.get('format_version')!r}; this version reads format "
            f"{FORMAT_VERSION}: train the model again (`make train`, or `stance train`)"
        )
    return manifest


def load_bundle(path: Path, models_dir: Path | None = None) -> Bundle:
    """Load a bundle's scorer after checking that the bundle lies inside `models_dir` (when given) and the
    scorer's SHA-256 against the manifest."""
    bundle_dir = resolve_bundle_dir(path)
    if models_dir is not None:
        bundle_dir = check_inside(bundle_dir, models_dir)
    manifest = read_manifest(bundle_dir)
    scorer_path = verified_file(bundle_dir, manifest, SCORER_FILE)
    has_table = isinstance(manifest.get("files"), dict) and EMBEDDING_TABLE_FILE in manifest["files"]

    def table() -> Path:  # read (and its SHA-256 checked) only by scorers that still need the table
        return verified_file(bundle_dir, manifest, EMBEDDING_TABLE_FILE)

    try:
        scorer = LinearScorer.load(scorer_path, table if has_table else None)
    except UnsupportedModel as error:
        raise BundleError(f"the model in {bundle_dir} can't be served: {error}") from error
    return Bundle(path=bundle_dir, manifest=manifest, scorer=scorer)


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (a crash of the machine, not only of the process, keeps a whole bundle)."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _host() -> str:
    return socket.gethostname()


def _process_gone(pid: int) -> bool:
    """Whether no process `pid` runs on this host (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def stale_staging(models_dir: Path, now: float | None = None) -> list[Path]:
    """Staging folders left by writers that died: this host's whose process is gone, others' after a day."""
    now = time.time() if now is None else now
    stale = []
    for entry in sorted(models_dir.iterdir()) if models_dir.is_dir() else []:
        if not entry.name.startswith(".") or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            writer = json.loads((entry / WRITER_FILE).read_text(encoding="utf-8"))
            host, pid = str(writer["host"]), int(writer["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            host, pid = "", 0
        try:
            age = now - entry.stat().st_mtime
        except OSError:
            continue
        if (host == _host() and pid > 0 and _process_gone(pid)) or age > STALE_STAGING_SECONDS:
            stale.append(entry)
    return stale


def write_bundle(
    models_dir: Path,
    version: str,
    scorer: LinearScorer,
    manifest: dict[str, Any],
    extra_files: Mapping[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Write `models_dir/version` atomically: build it in a hidden staging folder, then rename it into place.

    `extra_files` maps further file names to functions that write them (training's `model.joblib`). Staging
    folders of writers that died (killed mid-write) are removed first."""
    if not _VERSION_PATTERN.match(version):
        raise BundleError(f"invalid bundle version {version!r}")
    models_dir.mkdir(parents=True, exist_ok=True)
    for stale in stale_staging(models_dir):
        shutil.rmtree(stale, ignore_errors=True)
    final = models_dir / version
    if final.exists():
        raise BundleError(f"{final} already exists")
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=models_dir))
    try:
        (staging / WRITER_FILE).write_text(
            json.dumps({"host": _host(), "pid": os.getpid(), "started": time.time()}) + "\n", encoding="utf-8"
        )
        writers: dict[str, Callable[[Path], None]] = {SCORER_FILE: scorer.save, **(extra_files or {})}
        for name, write in writers.items():
            write(staging / name)
        written = [*writers, *([EMBEDDING_TABLE_FILE] if scorer.embedding is not None else [])]
        manifest = {
            **manifest,
            "format_version": FORMAT_VERSION,
            "version": version,
            "files": {name: {"sha256": sha256_file(staging / name)} for name in written},
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        (staging / WRITER_FILE).unlink()
        for path in [*(staging / name for name in written), staging / MANIFEST_FILE, staging]:
            _fsync(path)
        os.rename(staging, final)
        _fsync(models_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def set_current(models_dir: Path, version: str) -> None:
    """Point `models_dir/current` at a bundle, replacing the pointer atomically."""
    if not (models_dir / version / MANIFEST_FILE).is_file():
        raise BundleError(f"no bundle {version!r} in {models_dir}")
    with atomic_file(models_dir / CURRENT_FILE) as pointer:
        pointer.write_text(version + "\n", encoding="utf-8")
        _fsync(pointer)  # on disk before the rename, so a crash of the machine can't leave an empty pointer
    _fsync(models_dir)  # and the rename itself
