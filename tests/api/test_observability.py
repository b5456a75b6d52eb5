"""GET /metrics (Prometheus text format) and the structured JSON logs with request ids."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.api.app import create_app
from service.api.logs import JsonFormatter, logging_config, new_request_id
from service.api.settings import Settings
from service.model.bundle import HEADS, Bundle
from service.model.paths import PROJECT_ROOT
from tests.model_folders import ADMIN_KEY, models_with_two_versions


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_sentences_labels_and_sizes(client: TestClient, bundle: Bundle) -> None:
    texts = ["Talks resumed in Geneva. Troops attacked a border post.", "Markets fell."]
    body = client.post("/v1/classify", json={"texts": texts}).json()
    client.post("/v1/classify", json={"text": ""})
    client.get("/v1/nowhere")
    found = samples(client)
    assert value(found, "stance_http_requests_total", method="POST", route="/v1/classify", status="200") == 1
    assert value(found, "stance_http_requests_total", method="POST", route="/v1/classify", status="422") == 1
    assert value(found, "stance_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert (
        value(found, "stance_http_request_duration_seconds_count", method="POST", route="/v1/classify", status="200")
        == 1
    )
    assert value(found, "stance_sentences_classified_total") == 3
    for head in HEADS:
        labels = [sentence[head]["label"] for result in body["results"] for sentence in result["sentences"]]
        for label in HEADS[head]:
            assert value(found, "stance_predictions_total", head=head, label=label) == labels.count(label)
    assert value(found, "stance_classify_texts_per_request_sum") == 2
    assert value(found, "stance_http_request_size_bytes_count", route="/v1/classify") == 2
    assert value(found, "stance_http_request_size_bytes_sum", route="/v1/classify") > 50
    assert value(found, "stance_http_response_size_bytes_sum", route="/v1/classify") > 500
    assert value(found, "stance_model_info", version=bundle.version) == 1


def test_abstentions_count_heads_below_their_threshold(bundle: Bundle) -> None:
    strict = Bundle(
        path=bundle.path,
        manifest={**bundle.manifest, "thresholds": {"topic": 1.0, "stance": 1.0, "sentiment": 0.0}},
        scorer=bundle.scorer,
    )
    with TestClient(create_app(Settings(model_path=bundle.path), strict)) as client:
        client.post("/v1/classify", json={"text": "Talks resumed. Troops attacked. Markets fell."})
        found = samples(client)
    assert value(found, "stance_abstentions_total", head="topic") == 3
    assert value(found, "stance_abstentions_total", head="stance") == 3
    assert value(found, "stance_abstentions_total", head="sentiment") == 0


def test_model_info_follows_a_reload(bundle: Bundle, tmp_path: Path) -> None:
    from service.model.bundle import set_current

    models_dir, first, second = models_with_two_versions(bundle, tmp_path)
    settings = Settings(model_path=models_dir / "current", admin_enabled=True, admin_key=ADMIN_KEY)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        set_current(models_dir, second)
        client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        (models_dir / "current").write_text("missing\n")
        client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        found = samples(client)
    assert value(found, "stance_model_info", version=second) == 1
    assert ("stance_model_info", (("version", first),)) not in found
    assert value(found, "stance_model_reloads_total", result="reloaded") == 1
    assert value(found, "stance_model_reloads_total", result="failed") == 1


def test_metrics_can_be_turned_off(bundle: Bundle) -> None:
    with TestClient(create_app(Settings(model_path=bundle.path, metrics_enabled=False), bundle)) as client:
        assert client.get("/metrics").status_code == 404


def test_request_id_is_taken_or_made_and_returned(client: TestClient) -> None:
    given = client.get("/v1/health", headers={"X-Request-ID": "pipeline-42.batch:7"})
    assert given.headers["x-request-id"] == "pipeline-42.batch:7"
    made = client.get("/v1/health")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    insane = client.get("/v1/health", headers={"X-Request-ID": "x" * 500})
    assert insane.headers["x-request-id"] != "x" * 500
    assert new_request_id("bad id with spaces") != "bad id with spaces"


def test_every_response_names_the_model_version(client: TestClient, bundle: Bundle) -> None:
    for response in (
        client.get("/v1/health"),
        client.get("/v1/nothing"),
        client.post("/v1/classify", json={"texts": []}),
        client.post("/v1/classify", json={"text": "Talks resumed."}),
        client.get("/metrics"),
        client.get("/"),
    ):
        assert response.headers["x-model-version"] == bundle.version, response.request.url


def test_access_log_is_one_json_object_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    formatter = JsonFormatter()
    with caplog.at_level(logging.INFO, logger="stance.access"):
        client.post("/v1/classify", json={"text": "Talks resumed."}, headers={"X-Request-ID": "log-test-1"})
    [record] = [r for r in caplog.records if r.name == "stance.access"]
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "log-test-1"
    assert entry["logger"] == "stance.access" and entry["level"] == "info"
    assert (entry["method"], entry["route"], entry["status"]) == ("POST", "/v1/classify", 200)
    assert entry["duration_ms"] > 0 and entry["request_bytes"] > 0 and entry["model_version"]


def test_logs_inside_a_request_carry_its_id(bundle: Bundle, caplog: pytest.LogCaptureFixture) -> None:
    formatter = JsonFormatter()
    models = Settings(model_path=bundle.path, admin_enabled=True, admin_key=ADMIN_KEY)  # type: ignore[arg-type]
    with TestClient(create_app(models, bundle)) as client, caplog.at_level(logging.INFO, logger="stance"):
        client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}", "X-Request-ID": "reload-7"})
    reload_lines = [json.loads(formatter.format(r)) for r in caplog.records if r.name == "stance.model"]
    assert reload_lines and all(line["request_id"] == "reload-7" for line in reload_lines)


def test_exceptions_are_logged_as_json_with_a_traceback() -> None:
    formatter = JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("stance.errors", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info())
    entry = json.loads(formatter.format(record))
    assert entry["message"] == "failed x" and "ValueError: boom" in entry["exception"]


def test_logging_config_is_json_for_uvicorn_and_the_service() -> None:
    config = logging_config("info", "json")
    assert config["formatters"]["default"] == {"()": "service.api.logs.JsonFormatter"}
    assert {"uvicorn", "uvicorn.error", "stance"} <= set(config["loggers"])


IMPORT_THEN_APP = """
import logging
from pathlib import Path

from service.api import logs
from service.api.app import create_app
from service.api.settings import Settings

assert logging.getLogRecordFactory() is logging.LogRecord, "importing changed the record factory"
create_app(Settings(model_path=Path("unused")))
factory = logging.getLogRecordFactory()
create_app(Settings(model_path=Path("unused")))
assert logging.getLogRecordFactory() is factory, "a second app installed it again"
logs.request_id_var.set("r-1")
assert logging.getLogger("stance").makeRecord("stance", logging.INFO, "f", 1, "m", (), None).request_id == "r-1"
"""


def test_the_request_id_record_factory_is_installed_by_the_app_not_by_an_import() -> None:
    subprocess.run([sys.executable, "-c", IMPORT_THEN_APP], check=True, cwd=PROJECT_ROOT, timeout=120)
