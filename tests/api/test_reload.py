"""Model integrity and hot reload, in process: only bundles inside the models folder, only after the checks
(SHA-256 of the scorer, its format), a smoke prediction before the swap, the old model kept on any failure,
in-flight requests finishing on their model, and the model version on every response."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import service.api.batching as classify_route
import service.api.state
from service.api.app import create_app
from service.api.settings import Settings
from service.model.bundle import Bundle, BundleError, load_bundle, set_current
from tests.model_folders import ADMIN_KEY, models_with_two_versions, second_version, tamper

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture()
def models(bundle: Bundle, tmp_path: Path) -> tuple[Path, str, str]:
    return models_with_two_versions(bundle, tmp_path)


@pytest.fixture()
def admin_client(models: tuple[Path, str, str]) -> Iterator[TestClient]:
    models_dir, _, _ = models
    settings = Settings(model_path=models_dir / "current", admin_enabled=True, admin_key=ADMIN_KEY)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:  # start-up loads `current` with every check
        yield client


def served_version(client: TestClient) -> str:
    response = client.post("/v1/classify", json={"text": "Talks resumed in Geneva."})
    assert response.status_code == 200
    assert response.headers["x-model-version"] == response.json()["model"]["version"]
    return str(response.json()["model"]["version"])


def test_reload_swaps_to_the_bundle_current_names(admin_client: TestClient, models: tuple[Path, str, str]) -> None:
    models_dir, first, second = models
    assert served_version(admin_client) == first
    set_current(models_dir, second)
    response = admin_client.post("/v1/admin/reload", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["version"], body["previous_version"]) == ("reloaded", second, first)
    assert body["other_workers"] == "none"
    assert served_version(admin_client) == second
    assert admin_client.get("/v1/model").json()["version"] == second
    assert admin_client.get("/v1/health").headers["x-model-version"] == second


def failed_reload(client: TestClient, *fragments: str) -> dict[str, Any]:
    response = client.post("/v1/admin/reload", headers=ADMIN)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "urn:stance:problem:reload-failed"
    for fragment in fragments:
        assert fragment in body["detail"], (fragment, body["detail"])
    return body


def test_tampered_bundle_is_refused_and_the_old_model_keeps_serving(
    admin_client: TestClient, models: tuple[Path, str, str]
) -> None:
    models_dir, first, second = models
    tamper(models_dir / second)
    set_current(models_dir, second)
    body = failed_reload(admin_client, "SHA-256", f"still serving {first}")
    assert body["version"] == first
    assert served_version(admin_client) == first


def test_a_bundle_made_with_another_scikit_learn_is_served(bundle: Bundle, tmp_path: Path) -> None:
    """The served scorer is plain arrays: unlike a pickle, it does not depend on the scikit-learn that made it."""
    folder = second_version(bundle, tmp_path, "other", versions={"scikit-learn": "1.2.0"})
    assert load_bundle(folder, models_dir=tmp_path).version == "other"


def test_bundle_outside_the_models_folder_is_refused(
    admin_client: TestClient, models: tuple[Path, str, str], bundle: Bundle, tmp_path: Path
) -> None:
    models_dir, first, _ = models
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    second_version(bundle, outside, "foreign")
    (models_dir / "foreign").symlink_to(outside / "foreign", target_is_directory=True)
    set_current(models_dir, "foreign")
    failed_reload(admin_client, "not a bundle inside the models folder", str(models_dir.resolve()))
    assert served_version(admin_client) == first


def test_loader_refuses_paths_that_resolve_outside(bundle: Bundle, tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    with pytest.raises(BundleError, match="not a bundle inside the models folder"):
        load_bundle(bundle.path, models_dir=models_dir)
    linked = models_dir / "linked"
    linked.mkdir()
    for name in ("scorer.npz", "manifest.json"):
        (linked / name).symlink_to(bundle.path / name)  # files that lead out of the folder
    with pytest.raises(BundleError, match="resolves to"):
        load_bundle(linked, models_dir=models_dir)


def test_start_up_refuses_a_bundle_outside_the_configured_models_folder(bundle: Bundle, tmp_path: Path) -> None:
    settings = Settings(model_path=bundle.path, models_dir=tmp_path)
    with pytest.raises(BundleError, match="not a bundle inside"), TestClient(create_app(settings)):
        pass


def test_missing_or_broken_current_is_reported(admin_client: TestClient, models: tuple[Path, str, str]) -> None:
    models_dir, first, _ = models
    (models_dir / "current").write_text("no-such-version\n")
    failed_reload(admin_client, "no model bundle", "no-such-version")
    (models_dir / "current").write_text("../../etc\n")
    failed_reload(admin_client, "does not name a bundle version")
    assert served_version(admin_client) == first


def test_failed_smoke_prediction_keeps_the_old_model(
    admin_client: TestClient, models: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    models_dir, first, second = models
    set_current(models_dir, second)

    def broken(bundle: Bundle, texts: list[str], **kwargs: Any) -> Any:
        raise ValueError("scorer produced NaN")

    monkeypatch.setattr(service.api.state, "classify", broken)
    failed_reload(admin_client, "ValueError: scorer produced NaN")
    monkeypatch.undo()
    assert served_version(admin_client) == first
    assert admin_client.post("/v1/admin/reload", headers=ADMIN).json()["version"] == second


def test_in_flight_request_finishes_on_the_model_it_started_with(
    admin_client: TestClient, models: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    models_dir, first, second = models
    started, release = threading.Event(), threading.Event()
    real = classify_route.classify

    def slow(bundle: Bundle, texts: list[str], **kwargs: Any) -> Any:
        started.set()
        assert release.wait(30)
        return real(bundle, texts, **kwargs)

    monkeypatch.setattr(classify_route, "classify", slow)
    answers: list[Any] = []
    # Longer than the inline limit, so it is classified in a worker thread while the event loop serves the reload.
    text = " ".join(["Troops attacked a post."] * 300)
    assert len(text) > Settings(model_path=Path("unused")).inline_max_chars
    worker = threading.Thread(target=lambda: answers.append(admin_client.post("/v1/classify", json={"text": text})))
    worker.start()
    assert started.wait(30)
    set_current(models_dir, second)
    assert admin_client.post("/v1/admin/reload", headers=ADMIN).json()["version"] == second
    release.set()
    worker.join(30)
    monkeypatch.undo()
    [in_flight] = answers
    assert in_flight.status_code == 200
    assert in_flight.json()["model"]["version"] == first
    assert in_flight.headers["x-model-version"] == first
    assert served_version(admin_client) == second


def test_reloads_under_concurrent_requests_never_fail_or_mix_versions(
    admin_client: TestClient, models: tuple[Path, str, str]
) -> None:
    models_dir, first, second = models
    stop = threading.Event()
    seen: list[tuple[int, str, str]] = []

    def hammer() -> None:
        while not stop.is_set():
            response = admin_client.post("/v1/classify", json={"texts": ["Talks resumed.", "Troops attacked."]})
            seen.append(
                (response.status_code, response.headers["x-model-version"], response.json()["model"]["version"])
            )

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for version in (second, first, second):
        set_current(models_dir, version)
        assert admin_client.post("/v1/admin/reload", headers=ADMIN).status_code == 200
    stop.set()
    for thread in threads:
        thread.join(30)
    assert seen and all(status == 200 and header == body for status, header, body in seen)
    assert {body for _, _, body in seen} <= {first, second}


def test_sighup_reloads_in_process(models: tuple[Path, str, str]) -> None:
    """The handler the lifespan installs (in the main thread) reloads `current` in a thread."""
    import signal

    from service.api.app import install_sighup
    from service.api.state import ModelState

    models_dir, _, second = models
    state = ModelState(Settings(model_path=models_dir / "current"))
    state.load_initial()
    restore = install_sighup(state)
    try:
        set_current(models_dir, second)
        done = threading.Event()
        state.reload_listeners.append(lambda result: done.set())
        os.kill(os.getpid(), signal.SIGHUP)
        assert done.wait(30)
        assert state.version == second and state.last_reload is not None
        assert state.last_reload.source == "SIGHUP"
        assert state.reload(source="SIGHUP", only_if_changed=True).status == "unchanged"
    finally:
        restore()
