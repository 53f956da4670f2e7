"""The API's worker threads, apart from the event loop's default executor (which the watch
hub's scans keep for themselves) and apart from each other:

- `requests`: store and Docker calls of ordinary requests. Bounded: with the in-flight
  limit in front, at most that many requests wait for one of these threads, and a slow
  engine holds at most this many threads (the controller's loops keep the rest of the CPU).
- `streams`: the reads that block for as long as a log follow, exec or attach lasts; one
  per long-running request, so a few followers never take the requests' threads.
- `health`: /livez and /readyz ask the store here, so a full request pool shows up as
  slow requests, not as a dead server.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Pools:
    def __init__(self, request_threads: int, stream_threads: int) -> None:
        self.requests = ThreadPoolExecutor(request_threads, "api-request")
        self.streams = ThreadPoolExecutor(stream_threads, "api-stream")
        self.health = ThreadPoolExecutor(2, "api-health")

    def shutdown(self) -> None:
        for pool in (self.requests, self.streams, self.health):
            pool.shutdown(wait=False, cancel_futures=True)


_installed: Pools | None = None


def install(pools: Pools | None) -> None:
    """The pools of the one API server of this process (None once it stops)."""
    global _installed
    _installed = pools


def installed() -> Pools:
    if _installed is None:
        raise RuntimeError("the API server's thread pools are not running")
    return _installed


async def run_in(pool: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(fn, *args))
