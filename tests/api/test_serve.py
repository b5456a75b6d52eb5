"""The production entry point and the benchmark-only no-op route."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.serve import main
from service.api.settings import Settings
from service.model.bundle import Bundle


def test_serve_refuses_a_missing_bundle_with_a_message(tmp_path: Path, capsys) -> None:
    assert main(["--model", str(tmp_path / "nothing"), "--port", "8999"]) == 2
    assert "no model bundle" in capsys.readouterr().err


def test_noop_route_only_when_enabled(bundle: Bundle) -> None:
    with TestClient(create_app(Settings(model_path=bundle.path), bundle)) as client:
        assert client.post("/v1/noop").status_code == 404
    with TestClient(create_app(Settings(model_path=bundle.path, noop_route=True), bundle)) as client:
        assert client.post("/v1/noop").json() == {"status": "ok"}
        assert "/v1/noop" not in client.get("/openapi.json").json()["paths"]
