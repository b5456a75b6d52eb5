"""Prometheus metrics, served at `GET /metrics` in the text exposition format (prometheus-client).

Each app has its own registry, so tests see their own counts. With several uvicorn workers every process counts
on its own; `python -m service.api.serve` then sets PROMETHEUS_MULTIPROC_DIR (a fresh folder) before it starts them,
prometheus-client writes each worker's values to files there, and `/metrics`, whichever worker answers, adds
them up across the live workers (counters and histograms summed; `stance_model_info` per worker, with a `pid`
label). Without that variable, as under a plain `uvicorn --workers N`, each answer would show one worker only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from service.model.bundle import Bundle
from service.model.predict import DocumentResult

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SIZE_BUCKETS = tuple(float(64 * 4**power) for power in range(10))  # 64 B .. 16 MiB
COUNT_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 20000)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The service's metrics, on one registry."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "stance_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "stance_http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer, by method, route template and status",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.request_bytes = Histogram(
            "stance_http_request_size_bytes",
            "Request body sizes, by route template",
            ["route"],
            buckets=SIZE_BUCKETS,
            registry=registry,
        )
        self.response_bytes = Histogram(
            "stance_http_response_size_bytes",
            "Response body sizes, by route template",
            ["route"],
            buckets=SIZE_BUCKETS,
            registry=registry,
        )
        self.in_progress = Gauge(
            "stance_http_requests_in_progress",
            "Requests being answered now",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.texts = Histogram(
            "stance_classify_texts_per_request",
            "Texts per classify request",
            buckets=COUNT_BUCKETS,
            registry=registry,
        )
        self.sentences = Counter(
            "stance_sentences_classified", "Sentences (or whole texts) labelled", registry=registry
        )
        self.sentences_per_request = Histogram(
            "stance_classify_sentences_per_request",
            "Sentences labelled per classify request",
            buckets=COUNT_BUCKETS,
            registry=registry,
        )
        self.predictions = Counter(
            "stance_predictions", "Predicted labels, by head and label", ["head", "label"], registry=registry
        )
        self.abstentions = Counter(
            "stance_abstentions",
            "Head results below the head's confidence threshold (confident == false), by head",
            ["head"],
            registry=registry,
        )
        self.model_info = Gauge(
            "stance_model_info",
            "The model version being served (1); a version no longer served is 0",
            ["version"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.reloads = Counter(
            "stance_model_reloads", "Model reload attempts, by result", ["result"], registry=registry
        )

    # --- hooks ---------------------------------------------------------------------------------------------

    def observe_request(
        self, method: str, route: str, status: int, seconds: float, request_bytes: int, response_bytes: int
    ) -> None:
        code = str(status)
        self.requests.labels(method, route, code).inc()
        self.latency.labels(method, route, code).observe(seconds)
        self.request_bytes.labels(route).observe(request_bytes)
        self.response_bytes.labels(route).observe(response_bytes)

    def observe_documents(self, documents: Iterable[DocumentResult]) -> None:
        """Count a classify request's texts, sentences, labels per head and abstentions."""
        texts = 0
        sentences = 0
        labels: dict[tuple[str, str], int] = {}
        abstained: dict[str, int] = {}
        for document in documents:
            texts += 1
            for sentence in document.sentences:
                sentences += 1
                for head, result in sentence.heads.items():
                    key = (head, result["label"])
                    labels[key] = labels.get(key, 0) + 1
                    if not result["confident"]:
                        abstained[head] = abstained.get(head, 0) + 1
        self.texts.observe(texts)
        self.sentences_per_request.observe(sentences)
        if sentences:
            self.sentences.inc(sentences)
        for (head, label), count in labels.items():
            self.predictions.labels(head, label).inc(count)
        for head, count in abstained.items():
            self.abstentions.labels(head).inc(count)

    def model_swapped(self, old: Bundle | None, new: Bundle) -> None:
        """Point `stance_model_info` at the new version; start every head's label counters at zero."""
        if old is not None and old.version != new.version:
            self.model_info.labels(old.version).set(0)
            if not self.multiprocess:
                self.model_info.remove(old.version)
        self.model_info.labels(new.version).set(1)
        for head, labels in new.manifest.get("heads", {}).items():
            self.abstentions.labels(head)
            for label in labels:
                self.predictions.labels(head, str(label))

    def reload_result(self, result: str) -> None:
        self.reloads.labels(result).inc()

    # --- exposition ----------------------------------------------------------------------------------------

    def render(self) -> bytes:
        if self.multiprocess:
            registry = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def mark_process_dead(pid: int) -> None:
    """Drop a stopped worker's live gauges (in_progress, model_info) from the shared files."""
    if multiprocess_dir() is not None:
        prometheus_multiprocess.mark_process_dead(pid)
