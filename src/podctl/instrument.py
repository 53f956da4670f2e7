"""What the controller of this process shows the API server that runs beside it: /readyz
asks whether its loops still turn, /metrics reads its work queue and pod sync times.

The controller only stores plain values here and calls no metrics library (a controller
without --api imports none); the API server reads them when asked, and registers the one
observer it needs (pod sync durations) when it starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from podctl.workqueue import WorkQueue

PodSyncObserver = Callable[[str, float], None]


@dataclass
class ControllerState:
    """The active controller's loops (name -> thread) and its work queue."""

    queue: WorkQueue
    loops: dict[str, threading.Thread]
    started: float = field(default_factory=time.monotonic)
    # loop name -> time.monotonic() of its last turn, for loops that turn on a timer
    beats: dict[str, float] = field(default_factory=dict)

    def last_turn(self, loop: str) -> float:
        return self.beats.get(loop, self.started)


_lock = threading.Lock()
_active: ControllerState | None = None
_observers: list[PodSyncObserver] = []


def controller_started(queue: WorkQueue, loops: dict[str, threading.Thread]) -> None:
    global _active
    with _lock:
        _active = ControllerState(queue, loops)


def controller_stopped() -> None:
    global _active
    with _lock:
        _active = None


def active_controller() -> ControllerState | None:
    """The controller this process runs, while it runs (None in a standby process)."""
    return _active


def beat(loop: str) -> None:
    state = _active
    if state is not None:
        state.beats[loop] = time.monotonic()


def observe_pod_syncs(observer: PodSyncObserver) -> None:
    with _lock:
        _observers.append(observer)


def pod_synced(operation: str, seconds: float) -> None:
    for observer in _observers:
        observer(operation, seconds)
