"""Settings (STANCE_ variables, optional .env), API keys for classification, the admin key, and the refusal to
start with admin endpoints enabled and no admin key."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service.api.deps
from service.api.app import create_app
from service.api.serve import main as serve_main
from service.api.settings import Settings, StartupError
from service.model.bundle import Bundle
from tests.model_folders import ADMIN_KEY, models_with_two_versions


def test_settings_come_from_stance_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("STANCE_MAX_TEXTS", "7")
    monkeypatch.setenv("STANCE_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("STANCE_API_KEYS", " first-key , second-key,,")
    monkeypatch.setenv("STANCE_ADMIN_ENABLED", "true")
    monkeypatch.setenv("STANCE_ADMIN_KEY", ADMIN_KEY)
    settings = Settings()
    assert (settings.max_texts, settings.max_body_bytes) == (7, 2048)
    assert [key.get_secret_value() for key in settings.api_keys] == ["first-key", "second-key"]
    assert settings.admin_enabled and settings.admin_key is not None
    assert ADMIN_KEY not in repr(settings)  # secrets stay out of logs and tracebacks


def test_dotenv_file_is_optional(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STANCE_MAX_TEXT_CHARS", raising=False)
    assert Settings().max_text_chars == 20_000
    (tmp_path / ".env").write_text("STANCE_MAX_TEXT_CHARS=1234\n")
    assert Settings().max_text_chars == 1234


def test_admin_enabled_without_a_key_refuses_to_start(bundle: Bundle) -> None:
    with pytest.raises(StartupError, match="STANCE_ADMIN_KEY"):
        create_app(Settings(model_path=bundle.path, admin_enabled=True), bundle)
    with pytest.raises(StartupError, match="too short"):
        create_app(Settings(model_path=bundle.path, admin_enabled=True, admin_key="short"), bundle)
    create_app(Settings(model_path=bundle.path, admin_enabled=False), bundle)  # no admin endpoints: no key needed


def test_production_command_refuses_admin_without_key(
    bundle: Bundle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STANCE_ADMIN_ENABLED", "true")
    monkeypatch.delenv("STANCE_ADMIN_KEY", raising=False)
    assert serve_main(["--model", str(bundle.path), "--port", "8999", "--workers", "1"]) == 2
    error = capsys.readouterr().err
    assert "STANCE_ADMIN_ENABLED=true" in error and "STANCE_ADMIN_KEY" in error


def keyed_client(bundle: Bundle) -> TestClient:
    settings = Settings(model_path=bundle.path, api_keys="key-one,key-two", admin_enabled=True, admin_key=ADMIN_KEY)  # type: ignore[arg-type]
    return TestClient(create_app(settings, bundle))


def test_classification_needs_one_of_the_api_keys_when_set(bundle: Bundle) -> None:
    with keyed_client(bundle) as client:
        payload = {"text": "Talks resumed."}
        missing = client.post("/v1/classify", json=payload)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert "Authorization: Bearer" in missing.json()["detail"]
        wrong = client.post("/v1/classify", json=payload, headers={"Authorization": "Bearer key-three"})
        assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
        basic = client.post("/v1/classify", json=payload, headers={"Authorization": "Basic a2V5LW9uZQ=="})
        assert basic.status_code == 401
        for key in ("key-one", "key-two"):
            ok = client.post("/v1/classify", json=payload, headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200
        admin_as_api_key = client.post("/v1/classify", json=payload, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert admin_as_api_key.status_code == 401
        # Liveness, readiness, the manifest and metrics stay open.
        for path in ("/v1/health", "/v1/ready", "/v1/model", "/metrics"):
            assert client.get(path).status_code == 200, path


def test_without_api_keys_classification_is_open(client: TestClient) -> None:
    assert client.post("/v1/classify", json={"text": "Talks resumed."}).status_code == 200


def test_admin_endpoints_need_the_admin_key(bundle: Bundle) -> None:
    with keyed_client(bundle) as client:
        assert client.post("/v1/admin/reload").status_code == 401
        wrong = client.post("/v1/admin/reload", headers={"Authorization": "Bearer key-one"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "the admin key is not valid"


def test_admin_endpoints_are_absent_unless_enabled(client: TestClient) -> None:
    response = client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 404
    assert "/v1/admin/reload" not in client.get("/openapi.json").json()["paths"]


def test_every_configured_key_is_compared_with_compare_digest(bundle: Bundle, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = service.api.deps.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(service.api.deps.hmac, "compare_digest", spy)
    with keyed_client(bundle) as client:
        client.post("/v1/classify", json={"text": "a."}, headers={"Authorization": "Bearer key-one"})
    # Every configured key is compared, even after a match: no early exit.
    assert calls == [(b"key-one", b"key-one"), (b"key-one", b"key-two")]


def test_openapi_declares_the_bearer_schemes(bundle: Bundle) -> None:
    with keyed_client(bundle) as client:
        schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "http", "scheme": "bearer", "description": "One of STANCE_API_KEYS"}
    assert schema["paths"]["/v1/classify"]["post"]["security"] == [{"apiKey": []}]
    assert schema["paths"]["/v1/admin/reload"]["post"]["security"] == [{"adminKey": []}]
    assert "401" in schema["paths"]["/v1/classify"]["post"]["responses"]
    assert "security" not in schema["paths"]["/v1/health"]["get"]


def test_models_folder_is_the_one_holding_the_bundle(bundle: Bundle, tmp_path: Path) -> None:
    models_dir, first, _ = models_with_two_versions(bundle, tmp_path)
    root = models_dir.resolve()
    for model_path in (models_dir / "current", models_dir, models_dir / first):
        assert Settings(model_path=model_path).bundle_root() == root, model_path
    # A bundle folder named directly is followed through a symlink; one named by `current` is not.
    linked = tmp_path / "elsewhere"
    linked.mkdir()
    (linked / "live").symlink_to(models_dir / first, target_is_directory=True)
    assert Settings(model_path=linked / "live").bundle_root() == root
    (linked / "current").write_text("live\n")
    assert Settings(model_path=linked / "current").bundle_root() == linked.resolve()
    # No bundle there yet: the folder named, or the one a missing pointer would be in.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert Settings(model_path=empty).bundle_root() == empty.resolve()
    assert Settings(model_path=empty / "current").bundle_root() == empty.resolve()
    assert Settings(model_path=bundle.path, models_dir=tmp_path).bundle_root() == tmp_path.resolve()
