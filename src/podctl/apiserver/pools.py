"""The API's worker threads, apart from the event loop's default executor (which the watch
hub's scans keep for themselves) and apart from each other:

- `reads` and `writes`: store and Docker calls (and decoding, validation, encoding) of
  ordinary requests, reads apart from writes. Bounded: with the in-flight limits in front,
  at most that many requests wait for one of these threads. Python threads share one
  interpreter lock, so every thread busy with CPU work slows every other one, the
  controller's included: writes, which carry bodies to decode and validate, get few
  threads, and a burst of them (hostile or not) waits for those rather than crowding out
  reads and the controller.
- `streams`: the reads that block for as long as a log follow, exec or attach lasts; one
  per long-running request, so a few followers never take the requests' threads.
- `health`: /livez and /readyz ask the store here, so full request pools show up as slow
  requests, not as a dead server.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")


# Whether the request being served (this task's) writes: its blocking calls go to `writes`.
serving_a_write: ContextVar[bool] = ContextVar("serving_a_write", default=False)


class Pools:
    def __init__(self, read_threads: int, write_threads: int, stream_threads: int) -> None:
        self.reads = ThreadPoolExecutor(read_threads, "api-read")
        self.writes = ThreadPoolExecutor(write_threads, "api-write")
        self.streams = ThreadPoolExecutor(stream_threads, "api-stream")
        self.health = ThreadPoolExecutor(2, "api-health")

    @property
    def requests(self) -> ThreadPoolExecutor:
        """The pool of the request being served."""
        return self.writes if serving_a_write.get() else self.reads

    def shutdown(self) -> None:
        for pool in (self.reads, self.writes, self.streams, self.health):
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
