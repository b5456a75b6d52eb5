"""Cross-request micro-batching of `POST /v1/classify`, one queue per worker process.

Labelling a request on the event loop holds up every other connection of the worker: at 64 connections,
20-sentence articles queued behind one another in no fair order (p99 7.6x p50). Here a request is labelled at once,
on the loop, only when it is small (`inline_max_chars`, a few milliseconds of work) and alone: nothing is being
labelled, and no other request reached the queue in the same pass of the loop. Otherwise it waits in line, and
everything that arrived while a batch was being labelled is labelled together as the next batch, in a worker thread
(the loop keeps accepting connections and reading requests meanwhile), in arrival order: one call of the scorer for
many requests, whose sentences it labels in one sparse product, and a wait of at most the batch in progress plus
one's own.

"Alone" is checked after one pass of the loop: the requests read in one pass all start before any of them runs on,
and without the wait each would find nothing being labelled and be labelled inline, one after the other, while
the loop accepted no connection and read no request (at 64 connections, new connections waited seconds in the
accept queue and the requests labelled inline were never batched).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from starlette.concurrency import run_in_threadpool

from service.model.bundle import Bundle
from service.model.predict import DocumentResult, classify


@dataclass
class _Waiting:
    bundle: Bundle
    texts: list[str]
    split: bool
    explain: bool
    future: asyncio.Future[list[DocumentResult]]

    def kind(self) -> tuple[int, bool, bool]:
        """Requests of one kind can be labelled in one call (the same model and options)."""
        return id(self.bundle), self.split, self.explain


class LabelQueue:
    """The worker's line of requests waiting to be labelled."""

    def __init__(self, inline_max_chars: int) -> None:
        self.inline_max_chars = inline_max_chars
        self._waiting: list[_Waiting] = []
        self._draining: asyncio.Task[None] | None = None
        self._deciding = 0  # small requests waiting one pass of the loop to see whether they are alone

    async def classify(self, bundle: Bundle, texts: list[str], split: bool, explain: bool) -> list[DocumentResult]:
        """The documents of `texts`, as `service.model.predict.classify` gives them."""
        if sum(map(len, texts)) <= self.inline_max_chars and await self._alone():
            return classify(bundle, texts, split=split, explain=explain)
        future: asyncio.Future[list[DocumentResult]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(bundle, texts, split, explain, future))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _alone(self) -> bool:
        """Whether nothing is being labelled and no other request arrived in this pass of the loop."""
        if self._draining is not None:
            return False
        self._deciding += 1
        try:
            await asyncio.sleep(0)  # the other requests read in this pass reach the queue meanwhile
            return self._draining is None and self._deciding == 1
        finally:
            self._deciding -= 1

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                outcomes = await run_in_threadpool(_label_together, batch)
                for waiting, outcome in zip(batch, outcomes, strict=True):
                    if waiting.future.done():  # its client went away
                        continue
                    if isinstance(outcome, BaseException):
                        waiting.future.set_exception(outcome)
                    else:
                        waiting.future.set_result(outcome)
        finally:
            self._draining = None


def _label_together(batch: Sequence[_Waiting]) -> list[list[DocumentResult] | BaseException]:
    """Each request's documents, one `classify` call per run of requests of the same kind."""
    outcomes: list[list[DocumentResult] | BaseException] = []
    for _, run in groupby(batch, key=_Waiting.kind):
        requests = list(run)
        first = requests[0]
        try:
            documents = classify(
                first.bundle, [text for r in requests for text in r.texts], split=first.split, explain=first.explain
            )
        except Exception as error:  # handed to each request of the run, which raises it
            outcomes += [error] * len(requests)
            continue
        start = 0
        for request in requests:
            outcomes.append(documents[start : start + len(request.texts)])
            start += len(request.texts)
    return outcomes
