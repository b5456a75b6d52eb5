"""Cross-request micro-batching (`service.api.batching`): requests labelled together get their own answers."""

from __future__ import annotations

import asyncio
import threading

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
                assert result["label"] == theirs.heads[head]["label"]
                assert result["scores"] == pytest.approx(theirs.heads[head]["scores"], abs=1e-12)


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


def labelled_where(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Each call of the scorer from the queue: (texts labelled, whether on the event loop's thread)."""
    import service.api.batching as batching

    calls: list[tuple[int, bool]] = []
    loop_thread = threading.current_thread()

    def recording(bundle: Bundle, texts: list[str], **options: bool) -> object:
        calls.append((len(texts), threading.current_thread() is loop_thread))
        return classify(bundle, texts, **options)

    monkeypatch.setattr(batching, "classify", recording)
    return calls


def test_a_small_request_alone_is_labelled_on_the_event_loop(bundle: Bundle, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = labelled_where(monkeypatch)
    queue = LabelQueue(inline_max_chars=1000)

    [document] = asyncio.run(queue.classify(bundle, ["The ministers met in Geneva."], True, False))

    assert calls == [(1, True)]
    assert document.sentences[0].heads["stance"]["label"]


def test_small_requests_arriving_together_are_labelled_together_in_a_thread(
    bundle: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = labelled_where(monkeypatch)
    queue = LabelQueue(inline_max_chars=1000)  # each request is small enough to be labelled on the loop alone
    texts = [f"The ministers met in Geneva for the {n}th time." for n in range(6)]

    async def all_at_once() -> list[list[object]]:
        return await asyncio.gather(*(queue.classify(bundle, [text], True, False) for text in texts))

    answers = asyncio.run(all_at_once())

    assert calls == [(6, False)]  # one batch, off the loop: none of them held up the others
    assert [documents[0].text for documents in answers] == texts  # type: ignore[attr-defined]
