"""The fitted scikit-learn objects of a bundle: loaded only after their SHA-256 and scikit-learn version checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sklearn

from service.model.bundle import FITTED_FILE, MANIFEST_FILE, Bundle, BundleError
from training.fitted import load_fitted, major_minor


def copy_with_manifest(bundle: Bundle, tmp_path: Path, **changes: object) -> Path:
    copy = tmp_path / bundle.version
    shutil.copytree(bundle.path, copy)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    (copy / MANIFEST_FILE).write_text(json.dumps({**manifest, **changes}))
    return copy


def test_loads_the_fitted_vectorizer_and_heads(bundle: Bundle) -> None:
    vectorizer, heads = load_fitted(bundle.path)
    assert set(heads) == set(bundle.scorer.classes)
    assert vectorizer.transform(["Troops shelled the town."]).shape[0] == 1


def test_other_scikit_learn_major_minor_is_refused_naming_both(bundle: Bundle, tmp_path: Path) -> None:
    copy = copy_with_manifest(bundle, tmp_path, versions={"python": "3.11.7", "scikit-learn": "1.2.2"})
    with pytest.raises(BundleError, match=r"made with scikit-learn 1\.2\.2") as raised:
        load_fitted(copy)
    assert f"scikit-learn {sklearn.__version__}" in str(raised.value) and "major.minor" in str(raised.value)


def test_same_major_minor_other_patch_is_accepted(bundle: Bundle, tmp_path: Path) -> None:
    major, minor = major_minor(sklearn.__version__)
    copy = copy_with_manifest(bundle, tmp_path, versions={"scikit-learn": f"{major}.{minor}.99"})
    assert load_fitted(copy)[1]


def test_tampered_file_is_refused_before_unpickling(bundle: Bundle, tmp_path: Path) -> None:
    copy = copy_with_manifest(bundle, tmp_path)
    (copy / FITTED_FILE).write_bytes(b"cos\nsystem\n(S'echo owned'\ntR.")  # a pickle that would run a command
    with pytest.raises(BundleError, match="SHA-256"):
        load_fitted(copy)


@pytest.mark.parametrize(("version", "expected"), [("1.9.1", (1, 9)), ("1.10.dev0", (1, 10)), ("unknown", ())])
def test_major_minor(version: str, expected: tuple[int, ...]) -> None:
    assert major_minor(version) == expected
