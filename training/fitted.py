"""The fitted scikit-learn objects of a bundle (`model.joblib`): for evaluation against scikit-learn, benchmarks
and inspection. The service serves the compiled scorer instead and never opens this file.

Loading a joblib file runs code, so before loading it the SHA-256 is checked against the bundle's manifest and
the scikit-learn major.minor version that made it against the installed one (pickles are not portable).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from service.model.bundle import FITTED_FILE, BundleError, read_manifest, resolve_bundle_dir, verified_file
from service.model.embedding import StaticEncoder
from service.model.linear import EMBEDDING_TABLE_FILE


def major_minor(version: str) -> tuple[int, ...]:
    """(major, minor) of a version string such as "1.9.1" or "1.10.dev0"; () when it has no number."""
    return tuple(int(number) for number in re.findall(r"\d+", version)[:2])


def check_sklearn_version(bundle_dir: Path, manifest: dict[str, Any]) -> None:
    """Refuse a bundle whose scikit-learn major.minor differs from the one installed."""
    versions = manifest.get("versions")
    made_with = versions.get("scikit-learn") if isinstance(versions, dict) else None
    if not isinstance(made_with, str):
        raise BundleError(
            f"refusing to load {bundle_dir / FITTED_FILE}: its manifest does not say which scikit-learn made it "
            f"(versions.scikit-learn); this is scikit-learn {sklearn.__version__}"
        )
    if major_minor(made_with) != major_minor(sklearn.__version__):
        raise BundleError(
            f"refusing to load {bundle_dir / FITTED_FILE}: it was made with scikit-learn {made_with} but this is "
            f"scikit-learn {sklearn.__version__}; the major.minor versions differ, so retrain the model with "
            f"scikit-learn {'.'.join(map(str, major_minor(sklearn.__version__)))} (`stance train`)"
        )


def load_fitted(path: Path) -> tuple[Any, dict[str, Any]]:
    """(fitted vectorizer, fitted classifier per head) of the bundle at `path` (a folder or `current`)."""
    bundle_dir = resolve_bundle_dir(path)
    manifest = read_manifest(bundle_dir)
    check_sklearn_version(bundle_dir, manifest)
    payload = joblib.load(verified_file(bundle_dir, manifest, FITTED_FILE))
    # The embedding encoder is pickled without its table, which the bundle keeps once, in a file of its own.
    for _, part in getattr(payload["vectorizer"], "transformer_list", []):
        encoder = getattr(part, "encoder", None)
        if isinstance(encoder, StaticEncoder) and encoder.table is None:
            encoder.attach(np.load(verified_file(bundle_dir, manifest, EMBEDDING_TABLE_FILE), allow_pickle=False))
    return payload["vectorizer"], payload["heads"]
