"""One settings object for the service, read from `STANCE_*` environment variables or an optional `.env` file.

Every field is an environment variable: `max_texts` is `STANCE_MAX_TEXTS`, `api_keys` is `STANCE_API_KEYS`
(comma-separated). The settings table in docs/api.md lists them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.model.paths import CURRENT_FILE, FEEDBACK_DIR, MODELS_DIR
from service.model.text import MAX_TEXT_CHARS

MIN_ADMIN_KEY_CHARS = 16
# Set by `python -m service.api.serve` for its workers: the supervisor's pid, which passes a reload on to all of them.
SUPERVISOR_ENV = "STANCE_SUPERVISOR_PID"


class StartupError(Exception):
    """The settings do not allow the service to start (e.g. admin endpoints enabled without an admin key)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STANCE_", env_file=".env", extra="ignore")

    model_path: Path = Field(
        default=MODELS_DIR / CURRENT_FILE, description="Bundle folder, `current` pointer or models folder"
    )
    models_dir: Path | None = Field(
        default=None,
        description="The only folder bundles are loaded from, and whose `current` a reload follows "
        "(default: the folder that holds `model_path`'s bundle)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=2, ge=1, description="Server processes (`python -m service.api.serve`)")
    log_level: str = "info"
    log_format: Literal["json", "text"] = Field(default="json", description="Log lines as JSON objects, or plain text")
    noop_route: bool = Field(default=False, description="Add POST /v1/noop, the HTTP stack's ceiling, for benchmarks")
    max_body_bytes: int = Field(default=1 << 20, ge=1, description="Request body bytes, counted as they stream in")
    max_texts: int = Field(default=256, ge=1, description="Texts per request")
    max_text_chars: int = Field(default=MAX_TEXT_CHARS, ge=1, description="Characters per text")
    max_sentences: int = Field(default=1_000, ge=1, description="Sentences per text")
    max_request_sentences: int = Field(default=20_000, ge=1, description="Sentences per request, all texts together")
    inline_max_chars: int = Field(
        default=5_000,
        ge=0,
        description="Requests of at most this many characters (a few milliseconds of work) are classified on the "
        "event loop when they come alone (the worker labels nothing else and no other request arrived with them); "
        "the others wait in line and are labelled together, in arrival order, in a worker thread "
        "(service/api/batching.py)",
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Bearer keys for POST /v1/classify and /v1/feedback, comma-separated; empty: no key needed",
    )
    admin_enabled: bool = Field(default=False, description="Serve the admin endpoints (POST /v1/admin/reload)")
    admin_key: SecretStr | None = Field(default=None, description="Bearer key of the admin endpoints")
    metrics_enabled: bool = Field(default=True, description="Serve GET /metrics (Prometheus text format)")
    feedback_dir: Path = Field(
        default=FEEDBACK_DIR, description="Where POST /v1/feedback appends corrections (JSON lines, a file a day)"
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("admin_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def bundle_root(self) -> Path:
        """The models folder, resolved: `models_dir`, else the folder that holds `model_path`'s bundle."""
        if self.models_dir is not None:
            return self.models_dir.resolve()
        # Imported here: the server's workers import these settings before they answer the supervisor's health
        # checks, and the bundle module brings NumPy and SciPy.
        from service.model.bundle import BundleError, resolve_bundle_dir

        try:
            bundle = resolve_bundle_dir(self.model_path)
        except BundleError:
            # No bundle there yet (start-up will say so): a folder is taken for the models folder, a missing
            # `current` for a pointer in it.
            path = self.model_path.resolve()
            return path if path.is_dir() else path.parent
        if bundle == self.model_path:
            # A bundle folder named directly (a symlink followed): it is the bundle, wherever it lies.
            return bundle.resolve().parent
        # Named by a `current` pointer: the bundle must lie beside that pointer.
        return bundle.parent.resolve()

    def check_startup(self) -> None:
        """Raise StartupError when these settings must not serve: admin endpoints without a usable admin key."""
        if not self.admin_enabled:
            return
        if self.admin_key is None:
            raise StartupError(
                "admin endpoints are enabled (STANCE_ADMIN_ENABLED=true) but no admin key is set: "
                "set STANCE_ADMIN_KEY to a secret of at least "
                f"{MIN_ADMIN_KEY_CHARS} characters, or disable the admin endpoints"
            )
        if len(self.admin_key.get_secret_value()) < MIN_ADMIN_KEY_CHARS:
            raise StartupError(f"STANCE_ADMIN_KEY is too short: use at least {MIN_ADMIN_KEY_CHARS} characters")
