"""What every controller that makes pods (ReplicationController, ReplicaSet, Job, DaemonSet,
StatefulSet to come) needs so that it can always be stopped, after upstream's controller
utilities: slow-start batches with a burst cap, expectations, and a per-owner back-off
after a failed creation. Pure logic here; podcontrol acts on the store with it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
OwnerKey = tuple[str, str, str]  # kind, namespace, name

# Upstream's SlowStartInitialBatchSize: the first batch is one pod, so a template that
# cannot be created fails once, not `replicas` times.
INITIAL_BATCH = 1
# Upstream's burstReplicas (the Job's MaxPodCreateDeletePerSync is the same number): at
# most this many pods are created or deleted by one sync, however many are wanted.
BURST_REPLICAS = 500
# Upstream's ExpectationsTimeout: an owner whose changes were never seen acts again after it.
EXPECTATIONS_TIMEOUT = 300.0
# Upstream's DefaultControllerRateLimiter, per item: 5 ms doubled per failure, at most 1000 s.
BACKOFF_BASE = 0.005
BACKOFF_MAX = 1000.0


def batch_sizes(count: int, initial: int = INITIAL_BATCH) -> Iterator[int]:
    """1, 2, 4, … up to `count` in all (the last batch is what is left)."""
    remaining = count
    size = min(remaining, initial)
    while size > 0:
        yield size
        remaining -= size
        size = min(2 * size, remaining)


@dataclass
class SlowStart(Generic[T]):
    """What slow_start made, the failure that ended it, and whether it stopped early because
    the owner changed or the controller is stopping."""

    made: list[T] = field(default_factory=list)
    error: Exception | None = None
    stopped: bool = False


def slow_start(count: int, create: Callable[[int], T], unchanged: Callable[[], bool],
               stop: threading.Event) -> SlowStart[T]:
    """Call `create(i)` for i = 0, 1, … up to `count` times in slow-start batches. Before
    each batch `unchanged` re-reads the owner (False when it was deleted, marked, scaled or
    edited: the plan is stale); before each call `stop` is checked. The first failure ends
    the rest of its batch and every batch after it."""
    out: SlowStart[T] = SlowStart()
    for size in batch_sizes(count):
        if stop.is_set() or not unchanged():
            out.stopped = True
            return out
        for _ in range(size):
            if stop.is_set():
                out.stopped = True
                return out
            try:
                out.made.append(create(len(out.made)))
            except Exception as exc:  # any store or engine error is a failed creation
                out.error = exc
                return out
    return out


class Expectations:
    """Upstream's ControllerExpectations over podctl's store: after a sync wrote pods (made
    or marked deleting), its owner does not create or delete again until the controller's
    store watcher has seen those writes — the store's revision it has scanned reaches the
    last one the sync made — or until the timeout, so no pod is made twice from a view that
    misses the previous sync's work."""

    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._seen = 0
        self._pending: dict[OwnerKey, tuple[int, float]] = {}  # revision to see, since when

    def expect(self, owner: OwnerKey, revision: int) -> None:
        """The owner's sync wrote the store at `revision`."""
        with self._lock:
            if revision > self._seen:
                before = self._pending.get(owner, (0, 0.0))[0]
                self._pending[owner] = (max(before, revision), self._clock())

    def observed(self, revision: int) -> None:
        """The watcher has seen every write up to `revision`."""
        with self._lock:
            self._seen = max(self._seen, revision)
            for owner in [o for o, (rev, _) in self._pending.items() if rev <= self._seen]:
                del self._pending[owner]

    def satisfied(self, owner: OwnerKey) -> bool:
        with self._lock:
            pending = self._pending.get(owner)
            if pending is None:
                return True
            if self._clock() - pending[1] >= self._timeout:
                del self._pending[owner]  # lost: act again rather than never
                return True
            return False

    def forget(self, owner: OwnerKey) -> None:
        with self._lock:
            self._pending.pop(owner, None)


class Backoff:
    """Per-owner exponential back-off after failed creations (upstream's rate-limited
    requeue): while it runs the owner creates nothing, so a full disk or an engine at its
    limit is asked again after 5 ms, 10 ms, … 1000 s, not in a loop."""

    def __init__(self, base: float = BACKOFF_BASE, cap: float = BACKOFF_MAX,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._base = base
        self._cap = cap
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[OwnerKey, tuple[int, float]] = {}  # count, not before

    def wait(self, owner: OwnerKey) -> float:
        """Seconds before the owner may create again (0: now)."""
        with self._lock:
            _, not_before = self._failures.get(owner, (0, 0.0))
            return max(0.0, not_before - self._clock())

    def failed(self, owner: OwnerKey) -> float:
        """A creation failed: the delay before the next attempt."""
        with self._lock:
            count, _ = self._failures.get(owner, (0, 0.0))
            delay = min(self._cap, self._base * 2.0 ** min(count, 64))
            self._failures[owner] = (count + 1, self._clock() + delay)
            return delay

    def forget(self, owner: OwnerKey) -> None:
        with self._lock:
            self._failures.pop(owner, None)


@dataclass
class OwnerControl:
    """A controller's memory between the syncs of pod owners, and its stop signal. A
    one-off sync (the CLI with no controller running) gets a fresh one."""

    expectations: Expectations = field(default_factory=Expectations)
    backoff: Backoff = field(default_factory=Backoff)
    stop: threading.Event = field(default_factory=threading.Event)

    def forget(self, owner: OwnerKey) -> None:
        """The owner is gone: a new one of the same name starts with no debts."""
        self.expectations.forget(owner)
        self.backoff.forget(owner)
