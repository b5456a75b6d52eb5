"""The served model and its hot reload.

`ModelState.bundle` is the one reference requests read (once each, through `service.api.deps.get_bundle`), so a
request that started on a model finishes on it even if a reload swaps in another meanwhile. A reload loads the
bundle `<models_dir>/current` names (inside the models folder, after the bundle format and SHA-256 checks),
runs a smoke prediction on it, and only then swaps the reference, under a lock, in one assignment. If
anything fails the old model stays and the result says why.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from service.api.settings import Settings
from service.model.bundle import Bundle, BundleError, load_bundle, read_manifest, resolve_bundle_dir
from service.model.paths import CURRENT_FILE
from service.model.predict import classify

logger = logging.getLogger("stance.model")

SMOKE_TEXT = (
    "The two foreign ministers signed a trade agreement in Geneva on Monday. "
    "Militants attacked a border post overnight, killing three soldiers."
)


@dataclass(frozen=True)
class ReloadResult:
    status: Literal["reloaded", "unchanged", "failed"]
    version: str | None  # the version served after the attempt
    previous: str | None = None
    error: str | None = None
    seconds: float = 0.0
    source: str = "api"


def smoke_test(bundle: Bundle) -> None:
    """Label a two-sentence text: every head gives a known label and probabilities that sum to one."""
    [document] = classify(bundle, [SMOKE_TEXT])
    if len(document.sentences) != 2:
        raise BundleError(f"smoke test: expected 2 sentences, got {len(document.sentences)}")
    heads = set(bundle.manifest.get("heads", {})) or set(bundle.scorer.classes)
    for sentence in document.sentences:
        if set(sentence.heads) != heads:
            raise BundleError(f"smoke test: heads {sorted(sentence.heads)} but the manifest lists {sorted(heads)}")
        for head, result in sentence.heads.items():
            total = sum(result["scores"].values())
            if result["label"] not in result["scores"] or not math.isclose(total, 1.0, abs_tol=1e-6):
                raise BundleError(
                    f"smoke test: head {head} answered {result['label']!r} with scores summing to {total}"
                )


class ModelState:
    """The model being served, swapped atomically by `reload`."""

    def __init__(self, settings: Settings, bundle: Bundle | None = None) -> None:
        self.settings = settings
        self.models_dir = settings.bundle_root()
        self._bundle = bundle
        self._lock = threading.Lock()
        self.last_reload: ReloadResult | None = None
        self.listeners: list[Callable[[Bundle | None, Bundle], None]] = []  # after a swap: (old, new)
        self.reload_listeners: list[Callable[[ReloadResult], None]] = []  # after every reload attempt

    @property
    def bundle(self) -> Bundle | None:
        return self._bundle

    @property
    def version(self) -> str | None:
        bundle = self._bundle
        return bundle.version if bundle is not None else None

    def load_initial(self) -> Bundle:
        """The bundle at `model_path`, with every check, and the smoke test: at start-up."""
        bundle = load_bundle(self.settings.model_path, models_dir=self.models_dir)
        smoke_test(bundle)
        self._swap(bundle)
        return bundle

    def use(self, bundle: Bundle) -> None:
        """Serve `bundle`, already loaded and checked by the caller (tests, or an app given its bundle)."""
        with self._lock:
            self._swap(bundle)

    def _swap(self, new: Bundle) -> None:
        old = self._bundle
        self._bundle = new  # one assignment: a request sees the old model or the new one, never a mix
        for listener in self.listeners:
            try:
                listener(old, new)
            except Exception:  # a metrics hook must never undo a reload
                logger.exception("reload listener failed")

    def current_target(self) -> Path:
        """The bundle folder `<models_dir>/current` names."""
        return resolve_bundle_dir(self.models_dir / CURRENT_FILE)

    def is_current(self) -> bool:
        """Whether the served bundle is the one `current` names, with the same files' checksums."""
        bundle = self._bundle
        if bundle is None:
            return False
        try:
            target = self.current_target().resolve()
            files = read_manifest(target).get("files")
        except (BundleError, OSError):
            return False
        return target == bundle.path.resolve() and files == bundle.manifest.get("files")

    def reload(self, source: str = "api", only_if_changed: bool = False) -> ReloadResult:
        """Load `<models_dir>/current`, smoke-test it and swap it in; on any failure keep the old model."""
        started = time.perf_counter()
        with self._lock:
            previous = self.version
            if only_if_changed and self.is_current():
                result = ReloadResult("unchanged", previous, previous, source=source)
                logger.info(
                    "reload: already serving %s, which current names",
                    previous,
                    extra={"event": "reload", "result": "unchanged", "source": source, "version": previous},
                )
                self.last_reload = result
                return result  # not counted: nothing was attempted
            try:
                new = load_bundle(self.models_dir / CURRENT_FILE, models_dir=self.models_dir)
                smoke_test(new)
            except Exception as error:  # anything at all: the old model keeps serving
                message = str(error) if isinstance(error, BundleError) else f"{type(error).__name__}: {error}"
                result = ReloadResult(
                    "failed", previous, previous, error=message, seconds=time.perf_counter() - started, source=source
                )
                logger.error(
                    "reload failed, still serving %s: %s",
                    previous,
                    message,
                    extra={"event": "reload", "result": "failed", "source": source, "version": previous},
                )
            else:
                self._swap(new)
                result = ReloadResult(
                    "reloaded", new.version, previous, seconds=time.perf_counter() - started, source=source
                )
                logger.info(
                    "reloaded model %s (was %s)",
                    new.version,
                    previous,
                    extra={"event": "reload", "result": "reloaded", "source": source, "version": new.version},
                )
            self.last_reload = result
        for listener in self.reload_listeners:
            try:
                listener(result)
            except Exception:
                logger.exception("reload listener failed")
        return result
