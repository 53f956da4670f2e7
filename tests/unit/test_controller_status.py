"""The controller's store watcher and the kubelet's own status writes: the write a pod's
sync made needs no second sync of that pod; anyone else's change does."""

from __future__ import annotations

from pathlib import Path

from podctl.controller import Controller
from podctl.store import open_store

KEY = ("Pod", "default", "p")


def test_only_the_kubelets_own_status_write_is_skipped(tmp_path: Path) -> None:
    controller = Controller(open_store(tmp_path))
    controller._wrote_status("default", "p", "10")
    assert not controller._own_write(KEY, 9)  # someone's change seen before our write
    assert controller._own_write(KEY, 10)
    assert not controller._own_write(KEY, 10)  # once only
    controller._wrote_status("default", "p", "12")
    assert not controller._own_write(KEY, 13)  # another write came after ours
    assert not controller._own_write(KEY, 12)  # and ours is forgotten with it
    controller._wrote_status("default", "p", None)  # no write: nothing to skip
    assert not controller._own_write(KEY, 14)
    assert not controller._own_write(("Service", "default", "p"), 14)
