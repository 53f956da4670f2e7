"""workqueue: one handler per key at a time, re-runs for keys added while busy, delays."""

from __future__ import annotations

import threading
import time

from podctl.workqueue import Workers, WorkQueue


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


def test_a_blocked_job_never_holds_up_the_next() -> None:
    """Jobs submitted while others block each get a thread of their own (up to the limit)."""
    workers = Workers(limit=8, name="test")
    release = threading.Event()
    ran = threading.Event()
    for _ in range(5):
        workers.submit(lambda: release.wait(10))
    workers.submit(ran.set)
    try:
        assert ran.wait(5)
        assert workers.threads == 6
    finally:
        release.set()


def test_workers_stay_within_the_limit_and_finish_everything() -> None:
    workers = Workers(limit=3, name="test")
    done: list[int] = []
    lock = threading.Lock()
    finished = threading.Event()

    def job(n: int) -> None:
        with lock:
            done.append(n)
            if len(done) == 50:
                finished.set()

    for n in range(50):
        workers.submit(lambda n=n: job(n))
        assert workers.threads <= 3
    assert finished.wait(5)
    assert sorted(done) == list(range(50))


def test_idle_workers_end() -> None:
    workers = Workers(limit=4, name="test", idle_seconds=0.05)
    ran = threading.Event()
    workers.submit(ran.set)
    assert ran.wait(5)
    deadline = time.monotonic() + 5
    while workers.threads and time.monotonic() < deadline:
        time.sleep(0.01)
    assert workers.threads == 0


def test_workers_wait_idle_until_jobs_end() -> None:
    workers = Workers(4, name="t")
    release = threading.Event()
    workers.submit(release.wait)
    assert not workers.wait_idle(0.05)
    release.set()
    assert workers.wait_idle(5)
    assert workers.busy == 0
