"""A work queue with the controller-runtime guarantees: a key is handled by one worker at
a time, adding a key that is being handled runs it once more afterwards, and keys can be
added with a delay (back-off)."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Hashable


class WorkQueue:
    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._ready: dict[Hashable, None] = {}  # insertion-ordered set
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._active: set[Hashable] = set()
        self._dirty: set[Hashable] = set()
        self._seq = 0
        self._closed = False

    def add(self, key: Hashable, delay: float = 0.0) -> None:
        with self._cv:
            if delay > 0:
                self._seq += 1
                heapq.heappush(self._delayed, (time.monotonic() + delay, self._seq, key))
            elif key in self._active:
                self._dirty.add(key)
            else:
                self._ready[key] = None
            self._cv.notify()

    def get(self, timeout: float = 1.0) -> Hashable | None:
        """The next key to handle (now owned by the caller), or None after the timeout."""
        deadline = time.monotonic() + timeout
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
                self._cv.wait(timeout=max(0.0, wake - now))
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

    def _promote_delayed(self) -> None:
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            if key in self._active:
                self._dirty.add(key)
            else:
                self._ready[key] = None
