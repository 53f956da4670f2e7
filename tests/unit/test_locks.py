"""Lock files: named inside the locks directory, removed only when nobody holds them, and
never two holders of one lock, even while files are removed under the lockers."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from podctl import locks


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "x\0y"])
def test_a_lock_name_cannot_leave_the_locks_directory(home: Path, name: str) -> None:
    with pytest.raises(ValueError):
        locks.lock_path(name)


def test_lock_files_are_private(home: Path) -> None:
    with locks.file_lock("scheduler"):
        pass
    assert (locks.lock_path("scheduler").stat().st_mode & 0o777) == 0o600
    assert (home / "locks").stat().st_mode & 0o077 == 0


def test_discard_leaves_a_held_lock_and_removes_a_free_one(home: Path) -> None:
    path = locks.lock_path("pod-x")
    with locks.file_lock("pod-x"):
        assert not locks.discard(path)
        assert path.exists()
    assert locks.discard(path)
    assert not path.exists()
    assert not locks.discard(path)  # already gone


def test_stale_names_the_locks_of_objects_that_are_gone(home: Path) -> None:
    live, gone = str(uuid.uuid4()), str(uuid.uuid4())
    for name in (f"pod-{live}", f"pod-{gone}", f"rc-{gone}", "scheduler", "service-range"):
        with locks.file_lock(name):
            pass
    found = locks.object_locks(home)
    assert set(found) == {live, gone}
    assert [p.name for p in locks.stale(found, [live])] == [f"pod-{gone}.lock",
                                                            f"rc-{gone}.lock"]
    assert locks.collect_garbage(home, [live]) == 2
    assert sorted(p.name for p in (home / "locks").iterdir()) == [
        f"pod-{live}.lock", "scheduler.lock", "service-range.lock"]


def test_collect_garbage_skips_a_lock_being_held(home: Path) -> None:
    gone = str(uuid.uuid4())
    with locks.file_lock(f"pod-{gone}"):
        assert locks.collect_garbage(home, []) == 0
    assert locks.collect_garbage(home, []) == 1


class _SignallingFcntl:
    """fcntl as locks.py uses it, announcing each blocking flock before it blocks."""

    def __init__(self) -> None:
        self.blocking = threading.Event()
        self.LOCK_EX, self.LOCK_NB, self.LOCK_UN = fcntl.LOCK_EX, fcntl.LOCK_NB, fcntl.LOCK_UN

    def flock(self, fd: int, op: int) -> None:
        if op == fcntl.LOCK_EX and threading.current_thread() is not threading.main_thread():
            self.blocking.set()
        fcntl.flock(fd, op)


def test_a_locker_whose_file_was_removed_while_it_waited_locks_the_new_file(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shim = _SignallingFcntl()
    monkeypatch.setattr(locks, "fcntl", shim)
    path = locks.lock_path("pod-race")
    acquired = threading.Event()
    held_inode: list[int] = []
    release = threading.Event()

    def waiter() -> None:
        with locks.file_lock("pod-race"):
            held_inode.append(path.stat().st_ino)
            acquired.set()
            release.wait(10)

    with locks.file_lock("pod-race"):
        thread = threading.Thread(target=waiter)
        thread.start()
        assert shim.blocking.wait(10)  # it opened the old file and waits on it
        path.unlink()  # what discard does, holding the lock
    assert acquired.wait(10)
    # It holds the lock on the file the path names now (it made it anew), not on the
    # removed one...
    assert held_inode and path.exists() and held_inode[0] == path.stat().st_ino
    # ...so a third locker is kept out.
    fd = os.open(path, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    release.set()
    thread.join(10)


def _count(home: str, rounds: int) -> None:
    os.environ["PODCTL_HOME"] = home
    counter = Path(home) / "counter"
    for _ in range(rounds):
        with locks.file_lock("pod-shared"):
            value = int(counter.read_text())
            counter.write_text(str(value + 1))


def _discard(home: str, stop: Any) -> None:
    os.environ["PODCTL_HOME"] = home
    path = locks.lock_path("pod-shared")
    while not stop.is_set():
        locks.discard(path)


def test_no_increment_is_lost_while_the_lock_file_is_removed_again_and_again(
        home: Path) -> None:
    (home / "counter").write_text("0")
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    remover = ctx.Process(target=_discard, args=(str(home), stop))
    remover.start()
    workers = [ctx.Process(target=_count, args=(str(home), 200)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    stop.set()
    remover.join(10)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert (home / "counter").read_text() == "600"
