"""POST /v1/feedback: corrections are checked against the served model's labels and the text rule, then appended
as whole JSON lines that training reads back."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.feedback import append_row, new_row
from service.api.settings import Settings
from service.model.bundle import Bundle
from training.data import load_examples

PROBLEM_JSON = "application/problem+json"
SENTENCE = "The two ministers signed a trade pact on Sunday."


@pytest.fixture()
def feedback_dir(tmp_path: Path) -> Path:
    return tmp_path / "feedback"


@pytest.fixture()
def feedback_client(bundle: Bundle, feedback_dir: Path) -> Iterator[TestClient]:
    settings = Settings(model_path=bundle.path, feedback_dir=feedback_dir, max_text_chars=2_000)
    with TestClient(create_app(settings, bundle)) as client:
        yield client


def stored_rows(folder: Path) -> list[dict]:
    files = sorted(folder.glob("*.jsonl"))
    return [json.loads(line) for file in files for line in file.read_text(encoding="utf-8").splitlines()]


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status and body["instance"] == "/v1/feedback"
    return body


def test_a_correction_is_stored_and_training_reads_it(
    feedback_client: TestClient, feedback_dir: Path, bundle: Bundle
) -> None:
    request = {
        "text": SENTENCE,
        "topic": "economy",
        "stance": "economic",
        "model_version": "20261127-211747",
        "request_id": "pipeline-42",
        "note": "a pact is economic, not diplomatic",
    }
    response = feedback_client.post("/v1/feedback", json=request)
    assert response.status_code == 201, response.text
    row_id = response.json()["id"]
    assert re.fullmatch("[0-9a-f]{32}", row_id)
    assert response.headers["X-Model-Version"] == bundle.version

    [file] = feedback_dir.glob("*.jsonl")
    assert re.fullmatch(r"feedback-\d{4}-\d{2}-\d{2}\.jsonl", file.name)
    [row] = stored_rows(feedback_dir)
    assert row == {**request, "id": row_id, "time": row["time"]}
    assert list(row)[:3] == ["id", "time", "text"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", row["time"])
    assert file.name == f"feedback-{row['time'][:10]}.jsonl"

    [example] = load_examples([feedback_dir])
    assert example.text == SENTENCE
    assert example.labels == {"topic": "economy", "stance": "economic"}
    assert example.meta["id"] == row_id and example.meta["request_id"] == "pipeline-42"


def test_without_a_model_version_the_served_one_is_recorded(feedback_client: TestClient, feedback_dir: Path, bundle):
    response = feedback_client.post("/v1/feedback", json={"text": SENTENCE, "sentiment": "positive"})
    assert response.status_code == 201
    [row] = stored_rows(feedback_dir)
    assert row["sentiment"] == "positive" and "topic" not in row and "stance" not in row and "note" not in row
    assert row["model_version"] == bundle.version and row["request_id"] is None


def test_an_unknown_label_is_a_422_naming_it(feedback_client: TestClient, feedback_dir: Path) -> None:
    response = feedback_client.post("/v1/feedback", json={"text": SENTENCE, "topic": "economy", "stance": "hostile"})
    body = assert_problem(response, 422)
    assert "hostile" in body["detail"] and "stance" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", "stance"]
    assert not feedback_dir.exists() or not stored_rows(feedback_dir)


@pytest.mark.parametrize(
    "request_body",
    [{"text": SENTENCE}, {"text": SENTENCE, "topic": None, "stance": None}, {"text": SENTENCE, "note": "why"}],
)
def test_no_head_is_a_422(feedback_client: TestClient, request_body: dict) -> None:
    body = assert_problem(feedback_client.post("/v1/feedback", json=request_body), 422)
    assert "at least one head" in body["detail"]


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_an_empty_text_is_a_422(feedback_client: TestClient, text: str) -> None:
    body = assert_problem(feedback_client.post("/v1/feedback", json={"text": text, "topic": "economy"}), 422)
    assert "empty" in body["detail"]


def test_a_nul_is_a_422(feedback_client: TestClient) -> None:
    body = assert_problem(feedback_client.post("/v1/feedback", json={"text": "a\x00b", "topic": "economy"}), 422)
    assert "NUL" in body["detail"]


def test_a_too_long_text_is_a_413(feedback_client: TestClient) -> None:
    response = feedback_client.post("/v1/feedback", json={"text": "word " * 500, "topic": "economy"})
    body = assert_problem(response, 413)
    assert (body["limit"], body["maximum"], body["value"]) == ("max_text_chars", 2_000, 2_500)


@pytest.mark.parametrize(
    "extra", [{"note": "n" * 1001}, {"model_version": "v" * 129}, {"request_id": "r" * 129}, {"label": "x"}]
)
def test_field_constraints_are_422(feedback_client: TestClient, extra: dict) -> None:
    assert_problem(feedback_client.post("/v1/feedback", json={"text": SENTENCE, "topic": "economy", **extra}), 422)


def test_the_api_keys_apply(bundle: Bundle, feedback_dir: Path) -> None:
    settings = Settings(model_path=bundle.path, feedback_dir=feedback_dir, api_keys="key-one")  # type: ignore[arg-type]
    with TestClient(create_app(settings, bundle)) as client:
        request = {"text": SENTENCE, "topic": "economy"}
        missing = client.post("/v1/feedback", json=request)
        assert_problem(missing, 401)
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert_problem(client.post("/v1/feedback", json=request, headers={"Authorization": "Bearer nope"}), 401)
        good = client.post("/v1/feedback", json=request, headers={"Authorization": "Bearer key-one"})
        assert good.status_code == 201
    assert len(stored_rows(feedback_dir)) == 1


def test_concurrent_corrections_are_whole_lines(feedback_client: TestClient, feedback_dir: Path) -> None:
    threads = 50
    start = Barrier(threads)
    long_text = "Trade between the two countries grew again this year. " * 30  # about 1,650 characters a line

    def post(index: int) -> str:
        start.wait()
        response = feedback_client.post("/v1/feedback", json={"text": f"{index} {long_text}", "stance": "economic"})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    with ThreadPoolExecutor(threads) as pool:
        ids = list(pool.map(post, range(threads)))
    lines = [line for file in feedback_dir.glob("*.jsonl") for line in file.read_text(encoding="utf-8").split("\n")]
    assert lines[-1] == ""  # every line ended
    rows = [json.loads(line) for line in lines[:-1]]
    assert sorted(row["id"] for row in rows) == sorted(ids)
    assert sorted(int(row["text"].split()[0]) for row in rows) == list(range(threads))
    assert all(row["text"].endswith(long_text) for row in rows)
    assert len(load_examples([feedback_dir])) == threads


def test_a_line_cut_short_by_a_crash_does_not_swallow_the_next(tmp_path: Path) -> None:
    row = new_row(SENTENCE, {"topic": "economy"}, model_version="v1", request_id=None)
    path = append_row(tmp_path, row)
    with path.open("ab") as handle:
        handle.write(b'{"id": "cut", "text": "half a li')  # what a process killed mid-write could leave
    append_row(tmp_path, new_row(SENTENCE, {"stance": "economic"}, model_version="v1", request_id=None))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1] == '{"id": "cut", "text": "half a li'
    assert json.loads(lines[2])["stance"] == "economic"


def test_openapi_documents_the_feedback_request(feedback_client: TestClient) -> None:
    schema = feedback_client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/feedback"]["post"]
    assert "201" in operation["responses"]
    request = schema["components"]["schemas"]["FeedbackRequest"]
    assert request["properties"]["text"]["maxLength"] == 2_000
    [stance] = [option for option in request["properties"]["stance"]["anyOf"] if option.get("type") == "string"]
    assert "economic" in stance["enum"]
    assert [option["required"] for option in request["anyOf"]] == [["topic"], ["stance"], ["sentiment"]]


def test_a_correction_that_cannot_be_stored_is_a_503(bundle: Bundle, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("", encoding="utf-8")
    settings = Settings(model_path=bundle.path, feedback_dir=not_a_folder)
    with TestClient(create_app(settings, bundle)) as client:
        body = assert_problem(client.post("/v1/feedback", json={"text": SENTENCE, "topic": "economy"}), 503)
    assert "could not be stored" in body["detail"] and body["request_id"] in body["detail"]
