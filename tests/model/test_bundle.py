"""The bundle format: atomic writes, the `current` pointer, and refusal of tampered files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import service.model.bundle as bundle_module
from service.model.bundle import (
    FITTED_FILE,
    MANIFEST_FILE,
    SCORER_FILE,
    Bundle,
    BundleError,
    load_bundle,
    resolve_bundle_dir,
    set_current,
    write_bundle,
)
from service.model.linear import EMBEDDING_TABLE_FILE


def copy_bundle(bundle: Bundle, tmp_path: Path) -> Path:
    target = tmp_path / bundle.version
    shutil.copytree(bundle.path, target)
    return target


def test_manifest_records_what_training_used(bundle: Bundle) -> None:
    manifest = bundle.manifest
    for key in ("version", "created", "heads", "hyperparameters", "training_data", "versions", "files", "metrics"):
        assert key in manifest
    assert set(manifest["heads"]) == {"topic", "stance", "sentiment"}
    assert set(manifest["files"]) == {SCORER_FILE, FITTED_FILE, EMBEDDING_TABLE_FILE}
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    assert manifest["training_data"]["files"] and all(
        len(f["sha256"]) == 64 for f in manifest["training_data"]["files"]
    )
    assert manifest["training_data"]["rows_per_head"]["stance"]["train"] > 0
    assert {"python", "scikit-learn"} <= set(manifest["versions"])
    assert 0 <= manifest["metrics"]["dev"]["stance"]["macro_f1"] <= 1


def test_current_pointer_and_models_folder_resolve_to_the_bundle(models_dir: Path, bundle: Bundle) -> None:
    assert resolve_bundle_dir(models_dir / "current") == bundle.path
    assert resolve_bundle_dir(models_dir) == bundle.path
    assert resolve_bundle_dir(bundle.path) == bundle.path


def test_tampered_scorer_is_refused(bundle: Bundle, tmp_path: Path) -> None:
    copy = copy_bundle(bundle, tmp_path)
    with (copy / SCORER_FILE).open("ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(BundleError, match="SHA-256"):
        load_bundle(copy)


def test_manifest_with_another_hash_is_refused(bundle: Bundle, tmp_path: Path) -> None:
    copy = copy_bundle(bundle, tmp_path)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["files"][SCORER_FILE]["sha256"] = "0" * 64
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="refusing to load"):
        load_bundle(copy)


def test_missing_bundle_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=str(tmp_path)):
        load_bundle(tmp_path)


def test_pointer_to_a_path_outside_the_models_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "current").write_text("../../etc\n")
    with pytest.raises(BundleError, match="does not name a bundle version"):
        load_bundle(tmp_path / "current")


def test_failed_write_leaves_nothing_behind(bundle: Bundle, tmp_path: Path) -> None:
    def failing(path: Path) -> None:
        path.write_bytes(b"partial")
        raise RuntimeError("cannot write")

    with pytest.raises(RuntimeError):
        write_bundle(tmp_path, "v1", bundle.scorer, {}, {FITTED_FILE: failing})
    assert list(tmp_path.iterdir()) == []


def test_bundle_of_the_pickled_format_asks_for_retraining(bundle: Bundle, tmp_path: Path) -> None:
    copy = copy_bundle(bundle, tmp_path)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    (copy / MANIFEST_FILE).write_text(json.dumps({**manifest, "format_version": 1}))
    with pytest.raises(BundleError, match=r"format 1; this version reads format 2: train the model again"):
        load_bundle(copy)


def test_set_current_needs_an_existing_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no bundle"):
        set_current(tmp_path, "missing")


def test_existing_version_is_never_overwritten(bundle: Bundle) -> None:
    with pytest.raises(BundleError, match="already exists"):
        write_bundle(bundle.path.parent, bundle.version, bundle.scorer, {})


def test_set_current_replaces_the_pointer_whole_or_not_at_all(
    bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = copy_bundle(bundle, tmp_path).name
    second = shutil.copytree(tmp_path / first, tmp_path / "v2").name
    set_current(tmp_path, first)
    set_current(tmp_path, second)
    assert (tmp_path / "current").read_text(encoding="utf-8") == f"{second}\n"

    def crash(path: Path) -> None:  # the machine fails while the new pointer is written
        raise OSError("disk gone")

    monkeypatch.setattr(bundle_module, "_fsync", crash)
    with pytest.raises(OSError, match="disk gone"):
        set_current(tmp_path, first)
    assert (tmp_path / "current").read_text(encoding="utf-8") == f"{second}\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([first, second, "current"])
