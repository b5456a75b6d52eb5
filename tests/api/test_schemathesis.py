"""Property-based fuzzing of the API against its own OpenAPI schema (schemathesis, in process over ASGI).

Every operation gets generated requests, valid and invalid; the checks: no 5xx, every status code documented,
content types and bodies as documented (problem+json for every error), headers as documented, invalid data
rejected with a 4xx, missing or wrong keys answered 401. Bounded: at most MAX_EXAMPLES examples an operation,
derandomized, no example database written to disk.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES

from service.api.app import create_app
from service.api.settings import Settings
from service.model.bundle import Bundle
from tests.model_folders import ADMIN_KEY

MAX_EXAMPLES = 60

# The app as served, with the admin endpoint on (fuzzed without its key: every call must be a 401) and small
# text limits, so that generated texts meet them. Built at import, for schemathesis to read its schema (the
# app's own /openapi.json document); the session's bundle is put in before the tests run. Corrections go to a
# temporary folder, removed after the tests, never to the project's data/feedback/.
FEEDBACK_DIR = Path(tempfile.mkdtemp(prefix="stance-schemathesis-feedback-"))
APP = create_app(
    Settings(
        model_path=Path("unused"),
        admin_enabled=True,
        admin_key=ADMIN_KEY,  # type: ignore[arg-type]
        api_keys=[],
        max_texts=8,
        max_text_chars=2_000,
        max_sentences=2_000,  # never met by texts of 2,000 characters at most
        feedback_dir=FEEDBACK_DIR,
    )
)
# A request over a limit (say a text longer than maxLength) is rejected with 413, which the API documents; the
# check of rejected invalid data accepts it beside schemathesis's usual rejection codes.
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]}}}
)
schema = schemathesis.openapi.from_dict(APP.openapi(), config=CONFIG)
schema.app = APP  # requests go to the app in process, over ASGI (as `from_asgi` does)


@pytest.fixture(autouse=True, scope="module")
def _serve_the_session_bundle(bundle: Bundle) -> Iterator[None]:
    APP.state.model.use(bundle)
    yield
    shutil.rmtree(FEEDBACK_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any) -> None:
    case.call_and_validate()
