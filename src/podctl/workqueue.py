"""A work queue with the controller-runtime guarantees: a key is handled by one worker at
a time, adding a key that is being handled runs it once more afterwards, and keys can be
added with a delay (back-off)."""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable

log = logging.getLogger("podctl.workqueue")


class WorkQueue:
    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._ready: dict[Hashable, None] = {}  # insertion-ordered set
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._active: set[Hashable] = set()
        self._dirty: set[Hashable] = set()
        self._seq = 0
        self._closed = False
        self.adds = 0  # keys that became due and were not due already (workqueue_adds_total)

    def add(self, key: Hashable, delay: float = 0.0) -> None:
        with self._cv:
            if delay > 0:
                self._seq += 1
                heapq.heappush(self._delayed, (time.monotonic() + delay, self._seq, key))
            else:
                self._insert(key)
            self._cv.notify()

    def _insert(self, key: Hashable) -> None:
        if key in self._active:
            self.adds += key not in self._dirty
            self._dirty.add(key)
        else:
            self.adds += key not in self._ready
            self._ready[key] = None

    def get(self, timeout: float | None = None) -> Hashable | None:
        """The next key to handle (now owned by the caller); None after the timeout (never
        without one) or once the queue is closed."""
        deadline = time.monotonic() + timeout if timeout is not None else float("inf")
        with self._cv:
            while not self._closed:
                self._promote_delayed()
                for key in self._ready:
                    del self._ready[key]
                    self._active.add(key)
                    return key
                now = time.monotonic()
                if now >= deadline:
                    return None
                wake = min([deadline] + [when for when, _, _ in self._delayed[:1]])
                self._cv.wait(timeout=None if wake == float("inf") else max(0.0, wake - now))
            return None

    def done(self, key: Hashable) -> None:
        with self._cv:
            self._active.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self._ready[key] = None
                self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def __len__(self) -> int:
        with self._cv:
            return len(self._ready) + len(self._delayed)

    @property
    def depth(self) -> int:
        """Keys ready for a worker now (workqueue_depth: delayed ones not yet due are not)."""
        with self._cv:
            return len(self._ready)

    def _promote_delayed(self) -> None:
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            self._insert(key)


class Workers:
    """Daemon threads started on demand, up to `limit`, each running one job at a time; a
    thread idle for `idle_seconds` ends. Used with WorkQueue's per-key exclusivity this is
    the kubelet's pod-worker shape: one busy thread per object being synced, so one
    object's slow work (a 30 s graceful stop) never delays another's."""

    def __init__(self, limit: int, name: str = "worker", idle_seconds: float = 30.0) -> None:
        self.limit = limit
        self.name = name
        self.idle_seconds = idle_seconds
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)  # a job ended
        self._threads = 0
        self._idle = 0  # threads waiting for a job
        self._waiting = 0  # jobs no thread has taken yet
        self._seq = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._jobs.put(job)
            self._waiting += 1
            # Idle threads take waiting jobs one each; any job beyond them gets a new thread.
            if self._waiting > self._idle and self._threads < self.limit:
                self._threads += 1
                self._idle += 1
                self._seq += 1
                threading.Thread(target=self._run, name=f"{self.name}-{self._seq}",
                                 daemon=True).start()

    @property
    def threads(self) -> int:
        with self._lock:
            return self._threads

    @property
    def busy(self) -> int:
        """Threads running a job now."""
        with self._lock:
            return self._threads - self._idle

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job runs or waits, at most `timeout` seconds; whether it is so."""
        with self._finished:
            return self._finished.wait_for(
                lambda: self._waiting == 0 and self._threads == self._idle, timeout)

    def _run(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._waiting > 0:
                        continue
                    self._idle -= 1
                    self._threads -= 1
                    return
            with self._lock:
                self._idle -= 1
                self._waiting -= 1
            try:
                job()
            except Exception:
                log.exception("a job of %s failed", self.name)
            with self._lock:
                self._idle += 1
                self._finished.notify_all()
