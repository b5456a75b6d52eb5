"""The project's folders, in one place: the shipped data and the models folder (paths of a source checkout)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
CORPUS_DIR = DATA_DIR / "corpus"
# Analysts' corrections (`POST /v1/feedback`), unless STANCE_FEEDBACK_DIR names another folder.
FEEDBACK_DIR = PROJECT_ROOT / "data" / "feedback"
MODELS_DIR = PROJECT_ROOT / "models"
# The file in a models folder that names the served bundle.
CURRENT_FILE = "current"
