"""Where the partitions of a folder job run: in this process, in this process and a pool of processes on this
machine, or on Dask (a LocalCluster started for the job, or the cluster of a scheduler). Each way yields
(partition index, counts) as partitions complete, in any order; the parts are the same whichever ran them."""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.batch.partitions import Job, Partition, load_model, run_partition
from service.batch.readers import InputError
from service.batch.rows import Stats

if TYPE_CHECKING:  # a job in one process never starts a pool: it doesn't pay for importing one
    from concurrent.futures import Executor, Future, ProcessPoolExecutor

ENGINES = ("processes", "dask")
Runner = Callable[[Job, list[Partition], str], Iterator[tuple[int, Stats]]]


def require_dask() -> None:
    """Dask is an optional extra: a job asking for it on an install without it stops before any work."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as error:
        raise InputError(
            f"running on Dask (--engine dask, --scheduler) needs the [scale] extra ({error.name} not installed): "
            "pip install -c constraints.txt '.[scale]'"
        ) from error


@contextlib.contextmanager
def partition_runner(
    model: Path, workers: int, on_dask: bool, scheduler: str | None = None, client: Any = None
) -> Iterator[Runner]:
    """The way to run partitions: on Dask when asked (on `client`, a client of `scheduler`, or a new LocalCluster
    of `workers` processes, closed at the end), else in this process and `workers - 1` more.

    Entered before the job loads its model and plans: a client or cluster is set up first, so an unreachable
    scheduler is a bad argument before the job writes anything, and the processes started here load `model` while
    this one loads its own (a spawned process pays its whole start-up again)."""
    if not on_dask:
        if workers == 1:
            yield _inline
            return
        with _helper_pool(workers - 1, model) as (pool, ready):
            yield functools.partial(share_partitions, pool=pool, ready=ready)
        return
    with contextlib.ExitStack() as stack:
        if client is None:
            client = _dask_client(scheduler, workers, stack)
        yield functools.partial(_dask, client=client)


def _inline(job: Job, pending: list[Partition], out_dir: str) -> Iterator[tuple[int, Stats]]:
    for partition in pending:
        yield run_partition(partition, job, out_dir)


@contextlib.contextmanager
def _helper_pool(helpers: int, model: Path) -> Iterator[tuple[ProcessPoolExecutor, list[Future[None]]]]:
    """A pool of `helpers` processes, each loading `model` at once; with a future per helper that says when."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: workers start clean (no copied locks or threads), as on every platform and as Dask's do.
    pool = ProcessPoolExecutor(max_workers=helpers, mp_context=multiprocessing.get_context("spawn"))
    try:
        # A failed load shows again at the first partition that needs the model.
        yield pool, [pool.submit(load_model, str(model)) for _ in range(helpers)]
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    # Every partition is written: the helpers exit while this process joins the parts (Python waits for them at exit).
    pool.shutdown(wait=False)


def share_partitions(
    job: Job, pending: list[Partition], out_dir: str, pool: Executor, ready: list[Future[None]]
) -> Iterator[tuple[int, Stats]]:
    """Run `pending` in this process and on the pool's processes (helpers), each taking the next partition as it
    finishes its last: one that started later, or runs slower, takes fewer, and all finish within a partition of
    each other. A helper starts taking partitions when its `ready` future is done; this process never waits for
    it."""
    todo = deque(pending)
    finished: queue.SimpleQueue[tuple[int, Stats] | BaseException] = queue.SimpleQueue()
    relays: list[threading.Thread] = []

    def relay() -> None:  # hands one helper process a partition at a time
        try:
            while (partition := _take(todo)) is not None:
                finished.put(pool.submit(run_partition, partition, job, out_dir).result())
        except BaseException as error:  # raised again by this process, below
            finished.put(error)

    def start_relay(_: Future[None]) -> None:
        thread = threading.Thread(target=relay, daemon=True)
        relays.append(thread)
        thread.start()

    for loaded in ready:
        loaded.add_done_callback(start_relay)
    remaining = len(pending)
    try:
        while remaining:
            partition = _take(todo)
            outcomes = [run_partition(partition, job, out_dir) if partition is not None else finished.get()]
            while not finished.empty():
                outcomes.append(finished.get())
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
                remaining -= 1
                yield outcome
    finally:
        todo.clear()  # a relay stops once its helper finishes the partition it is on (one started later, at once)
        for thread in list(relays):
            thread.join()


def _take(todo: deque[Partition]) -> Partition | None:
    try:
        return todo.popleft()  # atomic: this process and the relays take from the same queue
    except IndexError:
        return None


def _dask_client(scheduler: str | None, workers: int, stack: contextlib.ExitStack) -> Any:
    """A client of `scheduler`, or of a new LocalCluster of `workers` processes; both closed with `stack`."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return stack.enter_context(Client(scheduler))
        except (OSError, ValueError) as error:
            raise InputError(f"can't reach the Dask scheduler at {scheduler}: {error}") from error
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, so that long-lived workers hand freed
    # memory back to the system. Labelling allocates and frees arrays of a few MB per chunk, and that setting
    # made it cost a third more CPU than plain processes (+7% without it); a job's memory is bounded anyway.
    # (None unsets it.)
    stack.enter_context(dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}))
    cluster = stack.enter_context(
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    )
    return stack.enter_context(Client(cluster))


def _dask(job: Job, pending: list[Partition], out_dir: str, client: Any) -> Iterator[tuple[int, Stats]]:
    import uuid

    from distributed import as_completed as dask_completed

    token = uuid.uuid4().hex[:8]
    keys = [f"stance-{partition.name}-{token}" for partition in pending]
    futures = client.map(run_partition, pending, key=keys, pure=False, job=job, out_dir=out_dir)
    try:
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.cancel(futures)
