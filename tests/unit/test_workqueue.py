"""workqueue: one handler per key at a time, re-runs for keys added while busy, delays."""

from __future__ import annotations

import time

from podctl.workqueue import WorkQueue


def test_keys_come_out_once_in_order() -> None:
    queue = WorkQueue()
    for key in ("a", "b", "a"):
        queue.add(key)
    assert [queue.get(0.1), queue.get(0.1), queue.get(0.01)] == ["a", "b", None]


def test_key_added_while_active_runs_again_after_done() -> None:
    queue = WorkQueue()
    queue.add("a")
    assert queue.get(0.1) == "a"
    queue.add("a")
    assert queue.get(0.01) is None  # not handed out twice at once
    queue.done("a")
    assert queue.get(0.1) == "a"


def test_delayed_key_waits() -> None:
    queue = WorkQueue()
    queue.add("late", delay=0.2)
    started = time.monotonic()
    assert queue.get(1.0) == "late"
    assert time.monotonic() - started >= 0.15


def test_close_wakes_waiters() -> None:
    queue = WorkQueue()
    queue.close()
    assert queue.get(5.0) is None
