"""API contract: request shapes, response shape, offsets, errors, the meta endpoints and the OpenAPI schema."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.settings import Settings
from service.model.bundle import HEADS, Bundle
from service.model.text import TEXT_PATTERN
from tests.model_folders import ADMIN_KEY

PROBLEM_JSON = "application/problem+json"

PARAGRAPH = (
    "Pakistan and Afghanistan agreed on Sunday to reopen the Torkham crossing. "
    "“We will not allow anyone to use our soil against a neighbour,” the Afghan envoy told reporters in Islamabad. "
    "Gen. Tariq Aziz said 3.5 tonnes of explosives had been seized near the U.S.-funded border post. "
    "Bilateral trade fell to $1.2 billion last year."
)


def test_classify_returns_every_sentence_with_offsets_and_heads(client: TestClient, bundle: Bundle) -> None:
    response = client.post("/v1/classify", json={"text": PARAGRAPH})
    assert response.status_code == 200
    body = response.json()
    assert body["model"]["version"] == bundle.version
    [result] = body["results"]
    assert result["text"] == PARAGRAPH
    assert len(result["sentences"]) == 4
    for sentence in result["sentences"]:
        assert PARAGRAPH[sentence["start"] : sentence["end"]] == sentence["text"]
        for head, labels in HEADS.items():
            assert sentence[head]["label"] in labels
            assert set(sentence[head]["scores"]) == set(labels)
    assert set(result["summary"]) == set(HEADS)


def test_texts_list_keeps_order(client: TestClient) -> None:
    texts = ["Militants attacked a convoy.", "The two ministers signed a trade pact. Markets rallied."]
    body = client.post("/v1/classify", json={"texts": texts}).json()
    assert [r["text"] for r in body["results"]] == texts
    assert [len(r["sentences"]) for r in body["results"]] == [1, 2]


def test_split_sentences_false_keeps_each_text_whole(client: TestClient) -> None:
    body = client.post("/v1/classify", json={"text": PARAGRAPH, "split_sentences": False}).json()
    [sentence] = body["results"][0]["sentences"]
    assert (sentence["start"], sentence["end"]) == (0, len(PARAGRAPH))


def test_answer_is_the_same_on_the_event_loop_and_in_a_worker_thread(bundle: Bundle) -> None:
    request = {"texts": [PARAGRAPH, "Militants attacked a convoy."], "explain": True}
    answers = []
    for inline_max_chars in (0, 100_000):  # everything to a thread; everything on the event loop
        settings = Settings(model_path=bundle.path, inline_max_chars=inline_max_chars)
        with TestClient(create_app(settings, bundle)) as client:
            answers.append(client.post("/v1/classify", json=request).json())
    assert answers[0] == answers[1]
    assert answers[0]["results"][0]["sentences"][0]["stance"]["explain"]


def test_bad_requests_get_422_naming_the_problem(client: TestClient) -> None:
    cases = {
        "exactly one": {"text": "a", "texts": ["b"]},
        "empty or only whitespace": {"text": "   "},
        "texts": {"texts": []},
        "string": {"texts": [3]},
        "Extra inputs": {"text": "a", "unknown": 1},
    }
    for expected, payload in cases.items():
        response = client.post("/v1/classify", json=payload)
        assert response.status_code == 422, payload
        assert expected in response.text, (payload, response.text)


def test_invalid_json_gets_422(client: TestClient) -> None:
    response = client.post("/v1/classify", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_limits_get_413_naming_the_limit(bundle: Bundle) -> None:
    settings = Settings(model_path=bundle.path, max_texts=2, max_text_chars=50)
    with TestClient(create_app(settings, bundle)) as client:
        too_many = client.post("/v1/classify", json={"texts": ["a.", "b.", "c."]})
        assert too_many.status_code == 413
        assert "max_texts=2" in too_many.json()["detail"]
        too_long = client.post("/v1/classify", json={"text": "x" * 51})
        assert too_long.status_code == 413
        assert "max_text_chars=50" in too_long.json()["detail"]


def test_meta_endpoints(client: TestClient, bundle: Bundle) -> None:
    assert client.get("/v1/health").json() == {"status": "ok"}
    assert client.get("/v1/ready").json() == {"status": "ready"}
    manifest = client.get("/v1/model").json()
    assert manifest["version"] == bundle.version
    assert manifest["heads"] == bundle.manifest["heads"]


def test_not_ready_without_a_model(bundle: Bundle) -> None:
    client = TestClient(create_app(Settings(model_path=bundle.path)))  # lifespan not run: nothing loaded
    assert client.get("/v1/health").status_code == 200
    assert client.get("/v1/ready").status_code == 503
    assert client.post("/v1/classify", json={"text": "Hello."}).status_code == 503


def test_start_up_loads_the_configured_bundle(models_dir, bundle: Bundle) -> None:
    with TestClient(create_app(Settings(model_path=models_dir / "current"))) as client:
        assert client.get("/v1/model").json()["version"] == bundle.version


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/classify", "/v1/health", "/v1/ready", "/v1/model"} <= set(paths)


def test_openapi_documents_problem_bodies_and_limits(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    classify = schema["paths"]["/v1/classify"]["post"]
    for status in ("413", "422", "500", "503"):
        content = classify["responses"][status]["content"]
        assert list(content) == [PROBLEM_JSON]
        assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "X-Model-Version" in classify["responses"]["200"]["headers"]
    request = schema["components"]["schemas"]["ClassifyRequest"]["properties"]
    [texts] = [option for option in request["texts"]["anyOf"] if option.get("type") == "array"]
    assert texts["maxItems"] == 256 and texts["items"]["maxLength"] == 20_000
    assert texts["items"]["pattern"] == TEXT_PATTERN
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "500" in operation["responses"], (method, path)


def test_openapi_lists_the_errors_each_route_can_answer(bundle: Bundle) -> None:
    """Per route, the errors it can answer (and 500 everywhere); 401 only where a key is needed."""
    expected = {
        ("post", "/v1/classify"): {"400", "413", "422", "500", "503"},
        ("post", "/v1/feedback"): {"400", "413", "422", "500", "503"},
        ("get", "/v1/health"): {"500"},
        ("get", "/v1/ready"): {"500", "503"},
        ("get", "/v1/model"): {"500", "503"},
        ("get", "/metrics"): {"500"},
        ("post", "/v1/admin/reload"): {"401", "409", "500"},
    }
    for api_keys in ("", "key-one"):
        settings = Settings(model_path=bundle.path, api_keys=api_keys, admin_enabled=True, admin_key=ADMIN_KEY)  # type: ignore[arg-type]
        schema = create_app(settings, bundle).openapi()
        found = {
            (method, path): {status for status in operation["responses"] if int(status) >= 400}
            for path, operations in schema["paths"].items()
            for method, operation in operations.items()
        }
        keyed = {("post", "/v1/classify"): {"401"}, ("post", "/v1/feedback"): {"401"}} if api_keys else {}
        assert found == {route: statuses | keyed.get(route, set()) for route, statuses in expected.items()}
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation["responses"].items():
                    if int(status) >= 400:
                        assert list(response["content"]) == [PROBLEM_JSON], (status, operation["summary"])
        assert ("security" in schema["paths"]["/v1/classify"]["post"]) == bool(api_keys)


def test_start_up_hides_what_lives_as_long_as_the_process_from_the_collector(bundle: Bundle) -> None:
    gc.unfreeze()
    with TestClient(create_app(Settings(model_path=bundle.path), bundle)):
        assert gc.get_freeze_count() > 0
