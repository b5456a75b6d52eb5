"""Latency at a fixed request rate, without coordinated omission, for `make bench`.

wrk (closed loop) sends a connection's next request only when the previous answer has come, so a slow answer
delays the requests that would have come meanwhile, and their wait is never measured. Here request i is due at
start + i / rate whatever happened before (open loop, as wrk2 does; wrk2 is not packaged for Debian), and its
latency runs from that due time to the end of its answer, so time spent waiting for a free connection or in the
server's queue counts. Plain HTTP/1.1 over keep-alive connections (asyncio streams), at most `connections` open.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import numpy as np


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a kept-alive connection and read its whole answer; the status code."""
    writer.write(request)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _run(url: str, body: bytes, rate: float, seconds: float, connections: int) -> tuple[list[float], int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    errors = 0

    async def one(due: float) -> None:
        nonlocal errors
        connection = await pool.get()
        try:
            if await _exchange(*connection, request) != 200:
                errors += 1
        finally:
            pool.put_nowait(connection)
        latencies.append(time.perf_counter() - due)

    start = time.perf_counter() + 0.1
    tasks = []
    for number in range(int(rate * seconds)):
        due = start + number / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait()[1].close()
    return latencies, errors


def fixed_rate(url: str, body: str, rate: float, seconds: float, connections: int = 64) -> dict[str, float]:
    """p50, p99 and max latency in ms of POSTs of `body` to `url` due at `rate` per second; the rate reached."""
    started = time.perf_counter()
    latencies, errors = asyncio.run(_run(url, body.encode("utf-8"), rate, seconds, connections))
    elapsed = time.perf_counter() - started
    values = np.asarray(latencies) * 1000
    return {
        "rate": rate,
        "achieved": len(values) / elapsed,
        "p50": float(np.percentile(values, 50)),
        "p99": float(np.percentile(values, 99)),
        "max": float(values.max()),
        "errors": errors,
    }
