"""Helpers for reload and integrity tests: a models folder of their own, with two servable versions."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from service.model.bundle import SCORER_FILE, Bundle, set_current, write_bundle

ADMIN_KEY = "admin-key-0123456789abcdef"


def second_version(bundle: Bundle, models_dir: Path, version: str, **manifest: Any) -> Path:
    """The session bundle's model written again as another version (its own manifest and checksum)."""
    base = {key: value for key, value in bundle.manifest.items() if key not in ("version", "files")}
    return write_bundle(models_dir, version, bundle.scorer, {**base, **manifest})


def models_with_two_versions(bundle: Bundle, root: Path) -> tuple[Path, str, str]:
    """`root/models` holding the session bundle (current) and a copy of it as version `<version>-b`."""
    models_dir = root / "models"
    models_dir.mkdir()
    shutil.copytree(bundle.path, models_dir / bundle.version)
    set_current(models_dir, bundle.version)
    other = second_version(bundle, models_dir, f"{bundle.version}-b")
    return models_dir, bundle.version, other.name


def tamper(bundle_dir: Path) -> None:
    with (bundle_dir / SCORER_FILE).open("ab") as handle:
        handle.write(b"\x00")
