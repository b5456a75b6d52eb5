"""Actors and relations in the API's answer and in `stance classify` outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from service.api.schemas import ClassifyResponse
from service.model.bundle import Bundle
from training.cli import main

ARTICLE = "Pakistan and Iran agreed to reopen the crossing. Both countries pledged calm. Tehran thanked the UN."


def test_api_gives_actors_and_relations(client: TestClient) -> None:
    response = client.post("/v1/classify", json={"text": ARTICLE})
    assert response.status_code == 200
    ClassifyResponse.model_validate(response.json())
    [result] = response.json()["results"]
    first = result["sentences"][0]["actors"]
    assert first[0] == {"id": "PAK", "name": "Pakistan", "type": "country", "text": "Pakistan", "start": 0, "end": 8}
    assert [m["id"] for m in result["sentences"][2]["actors"]] == ["IRN", "UN"]
    assert [(r["actors"], r["sentences"]) for r in result["relations"]] == [(["IRN", "PAK"], 2), (["IRN", "UN"], 1)]


def test_api_text_without_actors_has_empty_lists(client: TestClient) -> None:
    [result] = client.post("/v1/classify", json={"text": "Prices rose."}).json()["results"]
    assert result["sentences"][0]["actors"] == [] and result["relations"] == []


def write_input(tmp_path: Path) -> Path:
    source = tmp_path / "in.jsonl"
    rows = [{"id": "a", "text": ARTICLE}, {"id": "b", "text": "Prices rose."}]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return source


def test_split_sentences_output_has_actors(bundle: Bundle, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    args = ["classify", str(write_input(tmp_path)), "-o", str(out), "--model", str(bundle.path), "--split-sentences"]
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [[m["id"] for m in row["actors"]] for row in rows] == [["PAK", "IRN"], [], ["IRN", "UN"], []]
    assert rows[2]["actors"][0]["start"] == ARTICLE.index("Tehran")


def test_document_summary_output_has_relations(bundle: Bundle, tmp_path: Path) -> None:
    source = write_input(tmp_path)
    for out in (tmp_path / "out.jsonl", tmp_path / "out.parquet"):
        args = ["classify", str(source), "-o", str(out), "--model", str(bundle.path), "--document-summary"]
        assert main(args) == 0
        rows = [json.loads(line) for line in out.read_text().splitlines()] if out.suffix == ".jsonl" else None
        rows = rows or pq.read_table(out).to_pylist()
        assert [[r["actors"] for r in row["relations"]] for row in rows] == [[["IRN", "PAK"], ["IRN", "UN"]], []]
        assert rows[0]["relations"][0]["indices"] == [0, 1]
