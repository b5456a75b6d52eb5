"""Cross-request micro-batching (`service.api.batching`): requests labelled together get their own answers."""

from __future__ import annotations

import asyncio

import pytest

from service.api.batching import LabelQueue
from service.model.bundle import Bundle
from service.model.predict import classify
from training.examples import Example


def test_requests_labelled_together_get_what_each_gets_alone(bundle: Bundle, corpus: list[Example]) -> None:
    requests = [[" ".join(ex.text for ex in corpus[i : i + 3])] for i in range(0, 60, 3)]
    queue = LabelQueue(inline_max_chars=0)  # every request waits in line

    async def all_at_once() -> list[list[object]]:
        return await asyncio.gather(*(queue.classify(bundle, texts, True, False) for texts in requests))

    answers = asyncio.run(all_at_once())
    for texts, documents in zip(requests, answers, strict=True):
        [alone] = classify(bundle, texts)
        [together] = documents
        assert [s.span for s in together.sentences] == [s.span for s in alone.sentences]
        for mine, theirs in zip(together.sentences, alone.sentences, strict=True):
            for head, result in mine.heads.items():
                assert result.label == theirs.heads[head].label
                assert result.scores == pytest.approx(theirs.heads[head].scores, abs=1e-12)


def test_a_failure_reaches_every_request_of_its_batch(bundle: Bundle, monkeypatch: pytest.MonkeyPatch) -> None:
    import service.api.batching as batching

    def explode(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(batching, "classify", explode)
    queue = LabelQueue(inline_max_chars=0)

    async def two() -> list[object]:
        calls = (queue.classify(bundle, [text], True, False) for text in ("One.", "Two."))
        return await asyncio.gather(*calls, return_exceptions=True)

    assert [str(outcome) for outcome in asyncio.run(two())] == ["boom", "boom"]
