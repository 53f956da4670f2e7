"""An owner's background deletion racing its controller's pass: the deletion lists the
owner's pods under the lock the pass holds, so a pod the pass makes after the owner left
the store is still found and marked. The interleaving is forced: the pass is held between
its re-read of the owner and its pod's creation until the deletion has removed the owner
and is waiting for the lock (or, if it did not need that lock, has finished)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from podctl import locks
from podctl.controllers import deletion, ownersync, podcontrol
from podctl.controllers.owners import owner_lock_name
from podctl.controllers.slowstart import OwnerControl
from podctl.driver import OWNER_SYNCS
from podctl.store.db import Store

TEMPLATE = {"metadata": {"labels": {"app": "o"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}
OWNERS: dict[str, dict[str, Any]] = {
    "DaemonSet": {"apiVersion": "apps/v1", "spec": {
        "selector": {"matchLabels": {"app": "o"}}, "template": TEMPLATE}},
    "ReplicaSet": {"apiVersion": "apps/v1", "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": "o"}}, "template": TEMPLATE}},
    "ReplicationController": {"apiVersion": "v1", "spec": {
        "replicas": 1, "selector": {"app": "o"}, "template": TEMPLATE}},
    "Job": {"apiVersion": "batch/v1", "spec": {"template": {
        "metadata": {"labels": {"app": "o"}},
        "spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}}}},
}


@pytest.fixture
def store(node_store: Store) -> Store:
    return node_store


def held(name: str) -> bool:
    """Whether someone holds the lock `name` now (asked without waiting)."""
    path = locks.lock_path(name)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def race(store: Store, monkeypatch: pytest.MonkeyPatch, kind: str) -> dict[str, Any]:
    """Run the owner's pass with a background deletion forced in just before its pod is
    stored; the pass's result and the pods left."""
    owner = store.create({"kind": kind, "metadata": {"name": "o", "namespace": "default"},
                          **OWNERS[kind]})
    # Set when the deletion waits for the owner's lock, or is over (it never waited).
    deletion_blocked_or_done = threading.Event()
    real_lock = deletion.owner_lock

    @contextmanager
    def watched_lock(uid: str) -> Iterator[None]:
        if held(owner_lock_name(uid)):
            deletion_blocked_or_done.set()
        with real_lock(uid):
            yield

    def delete() -> None:
        try:
            deletion.delete_owner_background(store, owner)
        finally:
            deletion_blocked_or_done.set()

    monkeypatch.setattr(deletion, "owner_lock", watched_lock)
    deleter = threading.Thread(target=delete)
    real_store_and_bind = podcontrol.store_and_bind

    def store_after_the_deletion_began(store_: Store, pod: dict[str, Any]) -> dict[str, Any]:
        # The pass holds the owner: read again, planned, its creation checks passed.
        deleter.start()
        assert deletion_blocked_or_done.wait(10)
        assert store_.get(kind, "default", "o") is None  # the owner left the store
        return real_store_and_bind(store_, pod)

    monkeypatch.setattr(podcontrol, "store_and_bind", store_after_the_deletion_began)
    result = OWNER_SYNCS[kind].run(store, "default", "o", OwnerControl())
    deleter.join(10)
    assert not deleter.is_alive()
    return {"created": result.created, "pods": store.list("Pod", "default")}


@pytest.mark.parametrize("kind", sorted(OWNERS))
def test_a_pod_made_while_its_owner_is_deleted_is_marked_deleting(
        store: Store, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    outcome = race(store, monkeypatch, kind)
    assert len(outcome["created"]) == 1
    assert [p["metadata"]["name"] for p in outcome["pods"]] == \
        [outcome["created"][0]["metadata"]["name"]]
    assert all(p["metadata"].get("deletionTimestamp") for p in outcome["pods"])


def test_a_pass_under_another_lock_than_the_deletion_leaves_a_pod_behind(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race the shared lock closes (a DaemonSet pass that took `ds-<uid>`): the deletion
    lists no pod and is over before the pass stores one, which nobody marks."""
    other: Callable[[str], AbstractContextManager[None]] = \
        lambda uid: locks.file_lock(f"ds-{uid}")  # noqa: E731
    monkeypatch.setattr(ownersync, "owner_lock", other)
    outcome = race(store, monkeypatch, "DaemonSet")
    assert len(outcome["pods"]) == 1
    assert not outcome["pods"][0]["metadata"].get("deletionTimestamp")
