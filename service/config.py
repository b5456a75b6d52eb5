"""One settings object for the service, read from `STANCE_*` environment variables or a `.env` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
CORPUS_DIR = DATA_DIR / "corpus"
MODELS_DIR = PROJECT_ROOT / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STANCE_", env_file=".env", extra="ignore")

    model_path: Path = Field(
        default=MODELS_DIR / "current", description="Bundle folder, `current` pointer or models folder"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=2, ge=1, description="Server processes (`python -m service.serve`)")
    log_level: str = "info"
    noop_route: bool = Field(default=False, description="Add POST /v1/noop, the HTTP stack's ceiling, for benchmarks")
    max_texts: int = Field(default=256, ge=1, description="Texts per request")
    max_text_chars: int = Field(default=20_000, ge=1, description="Characters per text")
