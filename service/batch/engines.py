"""Where the partitions of a folder job run: in this process, in a pool of processes on this machine, or on Dask
(a LocalCluster started for the job, or the cluster of a scheduler). Each way yields (partition index, counts)
as partitions complete, in any order; the parts are the same whichever ran them."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from service.batch.partitions import Job, Partition, run_partition
from service.batch.readers import InputError
from service.batch.rows import Stats

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
def partition_runner(workers: int, on_dask: bool, scheduler: str | None = None, client: Any = None) -> Iterator[Runner]:
    """The way to run partitions: on Dask when asked (on `client`, a client of `scheduler`, or a new LocalCluster
    of `workers` processes, closed at the end), else on `workers` processes, else in this process.

    A client or cluster is set up here, before the job writes anything: an unreachable scheduler is a bad argument."""
    if not on_dask:
        yield _inline if workers == 1 else functools.partial(_processes, workers=workers)
        return
    with contextlib.ExitStack() as stack:
        if client is None:
            client = _dask_client(scheduler, workers, stack)
        yield functools.partial(_dask, client=client)


def _inline(job: Job, pending: list[Partition], out_dir: str) -> Iterator[tuple[int, Stats]]:
    for partition in pending:
        yield run_partition(partition, job, out_dir)


def _processes(job: Job, pending: list[Partition], out_dir: str, workers: int) -> Iterator[tuple[int, Stats]]:
    if len(pending) < 2:  # no pool to start for one partition (all others written already)
        yield from _inline(job, pending, out_dir)
        return
    # spawn, not fork: workers start clean (no copied locks or threads), as on every platform and as Dask's do.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(run_partition, partition, job, out_dir) for partition in pending]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
    from distributed import as_completed as dask_completed

    token = uuid.uuid4().hex[:8]
    keys = [f"stance-{partition.name}-{token}" for partition in pending]
    futures = client.map(run_partition, pending, key=keys, pure=False, job=job, out_dir=out_dir)
    try:
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.cancel(futures)
