"""The production entry point (`python -m service.api.serve`, and the options `stance serve` shares with it) and
the benchmark-only no-op route."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service.api.serve
from service.api.app import create_app
from service.api.serve import add_server_arguments, main, serve_from_args
from service.api.settings import Settings
from service.model.bundle import Bundle


def test_serve_refuses_a_missing_bundle_with_a_message(tmp_path: Path, capsys) -> None:
    assert main(["--model", str(tmp_path / "nothing"), "--port", "8999"]) == 2
    assert "no model bundle" in capsys.readouterr().err


def served_settings(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> Settings:
    """The settings the server would run with for these options (nothing is served)."""
    served: list[Settings] = []

    def run(settings: Settings) -> int:
        served.append(settings)
        return 0

    monkeypatch.setattr(service.api.serve, "run", run)
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    assert serve_from_args(parser.parse_args(argv)) == 0
    [settings] = served
    return settings


def test_options_default_to_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("STANCE_HOST", "STANCE_PORT", "STANCE_WORKERS", "STANCE_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings()
    settings = served_settings(monkeypatch, [])
    assert (settings.host, settings.port, settings.workers, settings.model_path) == (
        defaults.host,
        defaults.port,
        defaults.workers,
        defaults.model_path,
    )
    monkeypatch.setenv("STANCE_WORKERS", "3")
    monkeypatch.setenv("STANCE_PORT", "9001")
    assert (served_settings(monkeypatch, []).workers, served_settings(monkeypatch, []).port) == (3, 9001)
    given = served_settings(monkeypatch, ["--workers", "1", "--host", "0.0.0.0", "--model", str(tmp_path)])
    assert (given.workers, given.host, given.port, given.model_path) == (1, "0.0.0.0", 9001, tmp_path)


def test_invalid_options_are_refused_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--workers", "0"]) == 2
    assert "invalid settings" in capsys.readouterr().err
    monkeypatch.setenv("STANCE_PORT", "not-a-port")
    assert main([]) == 2
    assert "invalid settings" in capsys.readouterr().err


def test_noop_route_only_when_enabled(bundle: Bundle) -> None:
    with TestClient(create_app(Settings(model_path=bundle.path), bundle)) as client:
        assert client.post("/v1/noop").status_code == 404
    with TestClient(create_app(Settings(model_path=bundle.path, noop_route=True), bundle)) as client:
        assert client.post("/v1/noop").json() == {"status": "ok"}
        assert "/v1/noop" not in client.get("/openapi.json").json()["paths"]
