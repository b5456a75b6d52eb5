"""The model bundle format: `models/<version>/{model.joblib,manifest.json}` plus `models/current`.

The joblib file holds a dict with the fitted `vectorizer` and one fitted classifier per head under `heads`.
Loading a joblib file runs code, so the loader checks, before it loads anything: that the bundle lies inside the
models folder it is given (paths resolved, so no symlink or `current` pointer leads out of it), that the bundle
was made with this scikit-learn's major.minor version, and the file's SHA-256 against the manifest.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import sklearn

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
WRITER_FILE = ".writer"
# A staging folder is stale when its writer on this host is gone, or (another host's, or unmarked) after this long.
STALE_STAGING_SECONDS = 24 * 3600


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
    thresholds: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "scorer", compile_scorer(self.vectorizer, self.heads))
        except UnsupportedModel as error:
            raise BundleError(f"the model in {self.path} can't be served: {error}") from error
        object.__setattr__(self, "thresholds", confidence_thresholds(self.path, self.manifest))

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


def major_minor(version: str) -> tuple[int, ...]:
    """(major, minor) of a version string such as "1.9.1" or "1.10.dev0"; () when it has no number."""
    numbers = re.findall(r"\d+", version)[:2]
    return tuple(int(number) for number in numbers)


def check_inside(bundle_dir: Path, models_dir: Path) -> Path:
    """The resolved bundle folder, after checking that it (and its files) lie inside `models_dir`."""
    root = Path(models_dir).resolve()
    resolved = bundle_dir.resolve()
    outside = [
        p
        for p in (resolved, (bundle_dir / MODEL_FILE).resolve(), (bundle_dir / MANIFEST_FILE).resolve())
        if not p.is_relative_to(root)
    ]
    if outside or resolved == root:
        raise BundleError(
            f"refusing to load {bundle_dir}: it resolves to {outside[0] if outside else resolved}, which is not a "
            f"bundle inside the models folder {root}"
        )
    return resolved


def check_sklearn_version(bundle_dir: Path, manifest: dict[str, Any]) -> None:
    """Refuse a bundle whose scikit-learn major.minor differs from the one installed (pickles are not portable)."""
    versions = manifest.get("versions")
    made_with = versions.get("scikit-learn") if isinstance(versions, dict) else None
    if not isinstance(made_with, str):
        raise BundleError(
            f"refusing to load {bundle_dir}: its manifest does not say which scikit-learn made it "
            f"(versions.scikit-learn); this service runs scikit-learn {sklearn.__version__}"
        )
    if major_minor(made_with) != major_minor(sklearn.__version__):
        raise BundleError(
            f"refusing to load {bundle_dir}: it was made with scikit-learn {made_with} but this service runs "
            f"scikit-learn {sklearn.__version__}; the major.minor versions differ, so retrain the model with "
            f"scikit-learn {'.'.join(map(str, major_minor(sklearn.__version__)))} (`stance train`)"
        )


def load_bundle(path: Path, models_dir: Path | None = None) -> Bundle:
    """Load a bundle after checking that it lies inside `models_dir` (when given), that its scikit-learn
    major.minor is this one's, and its joblib file's SHA-256 against its manifest."""
    bundle_dir = resolve_bundle_dir(path)
    if models_dir is not None:
        bundle_dir = check_inside(bundle_dir, models_dir)
    try:
        manifest = json.loads((bundle_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        expected = manifest["model_file"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BundleError(f"unreadable manifest in {bundle_dir}: {error}") from error
    model_path = bundle_dir / MODEL_FILE
    if not model_path.is_file():
        raise BundleError(f"{model_path} is missing")
    check_sklearn_version(bundle_dir, manifest)
    actual = sha256_file(model_path)
    if actual != expected:
        raise BundleError(
            f"refusing to load {model_path}: its SHA-256 is {actual} but the manifest says {expected}; "
            "the file was changed after training"
        )
    payload = joblib.load(model_path)
    return Bundle(path=bundle_dir, manifest=manifest, vectorizer=payload["vectorizer"], heads=payload["heads"])


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
    models_dir: Path, version: str, vectorizer: Any, heads: dict[str, Any], manifest: dict[str, Any]
) -> Path:
    """Write `models_dir/version` atomically: build it in a hidden staging folder, then rename it into place.

    Staging folders of writers that died (killed mid-write) are removed first."""
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
        joblib.dump({"vectorizer": vectorizer, "heads": heads}, staging / MODEL_FILE)
        manifest = {
            **manifest,
            "format_version": FORMAT_VERSION,
            "version": version,
            "model_file": {"name": MODEL_FILE, "sha256": sha256_file(staging / MODEL_FILE)},
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        (staging / WRITER_FILE).unlink()
        for written in (staging / MODEL_FILE, staging / MANIFEST_FILE, staging):
            _fsync(written)
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
    pointer = models_dir / f".{CURRENT_FILE}.{os.getpid()}.tmp"
    pointer.write_text(version + "\n", encoding="utf-8")
    _fsync(pointer)
    os.replace(pointer, models_dir / CURRENT_FILE)
    _fsync(models_dir)
