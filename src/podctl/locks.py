"""Cross-process locks in $PODCTL_HOME (fcntl), so the CLI and the controller never race.

A lock is an flock on a file of its own in `locks/`. Objects' locks (`pod-<uid>`,
`rc-<uid>`, ...) would pile up, one file per object ever made, so the files of objects that
are gone are removed (collect_garbage). Removing a lock file is safe only with this protocol:
- a remover unlinks a file only while it holds the lock on it;
- a locker, once it holds the lock, checks that its path still names the inode it locked;
  if not (the file was unlinked, perhaps replaced, between its open and its flock) the lock
  it holds guards nothing, and it opens the path again.
So two holders of "the same" lock can never both believe they hold it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from podctl.home import podctl_home

LOCKS_DIR = "locks"
SUFFIX = ".lock"
# An object's lock: a kind word, then the object's uid (what the controllers name them).
_OBJECT_LOCK = re.compile(r"^[a-z]+-(?P<uid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                          r"-[0-9a-f]{12})\.lock$")


def lock_path(name: str, home: Path | None = None) -> Path:
    """The file of the lock `name`; the name cannot leave the locks directory."""
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise ValueError(f"invalid lock name {name!r}")
    return (home or podctl_home()) / LOCKS_DIR / f"{name}{SUFFIX}"


def _locked(path: Path, blocking: bool) -> int | None:
    """An fd holding the lock on the file that `path` names now (made when `blocking`);
    None when `blocking` is false and someone else holds it."""
    while True:
        create = os.O_CREAT if blocking else 0
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | create, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd
        os.close(fd)  # a remover unlinked it meanwhile: lock whatever the path names now


def _same_file(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


@contextmanager
def file_lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock named `name` for the duration of the block."""
    path = lock_path(name)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = _locked(path, blocking=True)
    assert fd is not None
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def discard(path: Path) -> bool:
    """Remove a lock file unless someone holds the lock; whether it was removed."""
    with contextlib.suppress(FileNotFoundError):
        fd = _locked(path, blocking=False)
        if fd is None:
            return False
        try:
            path.unlink()  # still holding it: whoever opened it before rechecks and retries
            return True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
    return False


def object_locks(home: Path) -> dict[str, list[Path]]:
    """The lock files of objects in this home, by the uid they name."""
    found: dict[str, list[Path]] = {}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(home / LOCKS_DIR):
            match = _OBJECT_LOCK.match(entry.name)
            if match:
                found.setdefault(match["uid"], []).append(Path(entry.path))
    return found


def stale(locks: dict[str, list[Path]], live_uids: Iterable[str]) -> list[Path]:
    """The lock files of objects that no longer exist (pure)."""
    live = set(live_uids)
    return sorted(path for uid, paths in locks.items() if uid not in live for path in paths)


def collect_garbage(home: Path, live_uids: Iterable[str]) -> int:
    """Remove the lock files of objects that are gone (a lock someone holds now is left for
    the next time); how many were removed."""
    return sum(discard(path) for path in stale(object_locks(home), live_uids))
