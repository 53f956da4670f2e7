"""The in-process drain of the controllers' handlers (a command's follow-up when no
controller runs): waves until nothing is left now, bounded, later work left alone."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest

from podctl import driver
from podctl.api import meta
from podctl.controllers.deletion import FOREGROUND, mark_owner_deleting
from podctl.controllers.ownersync import Key
from podctl.controllers.slowstart import OwnerControl
from podctl.driver import Context, Handler
from podctl.store import open_store
from podctl.store.db import Store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    return open_store(tmp_path)


def recording(calls: list[Key], follow: dict[Key, list[tuple[Key, float]]]) -> Handler:
    lock = threading.Lock()

    def handler(ctx: Context, namespace: str, name: str) -> None:
        key = ("K", namespace, name)
        with lock:
            calls.append(key)
        for then, delay in follow.get(key, []):
            ctx.queue.add(then, delay)

    return handler


def test_follow_ups_run_after_what_asked_for_them_and_later_work_is_left(
        store: Store) -> None:
    calls: list[Key] = []
    follow = {("K", "", "a"): [(("K", "", "b"), 0.0), (("K", "", "c"), 0.0),
                               (("K", "", "later"), 5.0)],
              ("K", "", "b"): [(("K", "", "d"), 0.0)]}
    driver.drain(store, [("K", "", "a")], {"K": recording(calls, follow)})
    assert calls[0] == ("K", "", "a")
    assert sorted(calls[1:3]) == [("K", "", "b"), ("K", "", "c")]
    assert calls[3:] == [("K", "", "d")]


def test_a_key_asking_for_itself_forever_is_handled_a_bounded_number_of_times(
        store: Store) -> None:
    calls: list[Key] = []
    loop = ("K", "", "loop")
    driver.drain(store, [loop, ("Unknown", "", "x")],
                 {"K": recording(calls, {loop: [(loop, 0.0)]})})
    assert calls == [loop] * driver.MAX_PASSES


def test_each_wave_sees_the_writes_of_the_one_before(store: Store) -> None:
    """The owners' expectations are met before each wave: the store is read directly."""
    seen: list[bool] = []

    def write_then_check(ctx: Context, _namespace: str, name: str) -> None:
        owner = ("ReplicaSet", "default", "web")
        seen.append(ctx.control.expectations.satisfied(owner))
        if name == "first":
            made = ctx.store.create({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "x", "namespace": "default"}})
            ctx.control.expectations.expect(owner, int(made["metadata"]["resourceVersion"]))
            ctx.queue.add(("K", "", "second"))

    driver.drain(store, [("K", "", "first")], {"K": write_then_check})
    assert seen == [True, True]


class Recorder:
    def __init__(self) -> None:
        self.keys: list[Key] = []

    def add(self, key: Hashable, delay: float = 0.0) -> None:
        assert isinstance(key, tuple)
        self.keys.append(key)


def owned_by(owner: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"apiVersion": "apps/v1", "kind": owner["kind"], "name": owner["metadata"]["name"],
             "uid": owner["metadata"]["uid"], "controller": True}]


def test_a_deployment_being_deleted_and_its_replica_set_do_not_wake_each_other_in_turn(
        store: Store) -> None:
    """While the pods stop, neither pass wakes the other again and again: the Deployment
    wakes a ReplicaSet once, when it marks it; the ReplicaSet wakes its Deployment."""
    deployment = store.create({"apiVersion": "apps/v1", "kind": "Deployment",
                               "metadata": {"name": "d", "namespace": "default"},
                               "spec": {"selector": {"matchLabels": {"app": "d"}}}})
    rs = store.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                       "metadata": {"name": "d-1", "namespace": "default",
                                    "ownerReferences": owned_by(deployment)},
                       "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}}}})
    store.create({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "d-1-a", "namespace": "default",
                               "ownerReferences": owned_by(rs)},
                  "spec": {"containers": [{"name": "c", "image": "i"}]}})
    assert mark_owner_deleting(store, deployment, FOREGROUND) is not None
    queue = Recorder()
    ctx = Context(store, OwnerControl(), queue)

    driver.handle(ctx, ("Deployment", "default", "d"))
    assert queue.keys == [("ReplicaSet", "default", "d-1")]
    queue.keys.clear()
    driver.handle(ctx, ("ReplicaSet", "default", "d-1"))
    assert sorted(queue.keys) == [("Deployment", "default", "d"), ("Pod", "default", "d-1-a")]
    queue.keys.clear()
    driver.handle(ctx, ("Deployment", "default", "d"))
    assert queue.keys == []


def test_every_graceful_stop_of_a_drain_starts_at_once(store: Store) -> None:
    """As on a node: a pod waiting for a free thread would see its grace period (counted
    from its mark) run out and be killed with no SIGTERM first."""
    count = driver.DRAIN_WORKERS * 3
    for i in range(count):
        store.create({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": f"p{i}", "namespace": "default",
                                   "deletionTimestamp": "2026-01-01T00:00:00Z"},
                      "spec": {"containers": [{"name": "c", "image": "i"}]}})
    together = threading.Barrier(count, timeout=10)

    def stop(_ctx: Context, _namespace: str, _name: str) -> None:
        together.wait()  # broken (an error) unless every stop runs at the same time

    driver.drain(store, [("Pod", "default", f"p{i}") for i in range(count)], {"Pod": stop})
    assert not together.broken


def test_the_pod_owners_controllers_are_the_kinds_that_own_pods() -> None:
    assert {kind for kind, sync in driver.OWNER_SYNCS.items() if sync.dependents == "Pod"} \
        == set(driver.POD_OWNERS) \
        == {kind for kind, traits in meta.RESOURCES.items() if traits.owns_pods}


def test_pods_of_a_deleted_node_are_collected_and_their_owners_woken(store: Store) -> None:
    from podctl import registry

    registry.create(store, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"}})
    def pod(name: str, node: str, owner: str | None = None) -> None:
        refs = [{"apiVersion": "v1", "kind": "ReplicationController", "name": owner,
                 "uid": "3f1c1a2e-0000-4000-8000-000000000001", "controller": True}]
        registry.create(store, {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": name, **({"ownerReferences": refs} if owner else {})}, "spec": {
            "nodeName": node, "containers": [{"name": "c", "image": "podctl/busybox:1"}]}},
            "default")

    pod("on-gone", "gone", owner="rc")
    pod("bare-on-gone", "gone")
    pod("on-n2", "n2")
    woken: list[Hashable] = []

    class Recorder:
        def add(self, key: Hashable, delay: float = 0.0) -> None:
            woken.append(key)

    ctx = Context(store, OwnerControl(), Recorder())
    driver.collect_orphaned_pods(ctx, "", "n2")  # a node that is back: nothing goes
    assert len(store.list("Pod")) == 3 and woken == []
    driver.collect_orphaned_pods(ctx, "", "gone")
    assert [meta.name_of(p) for p in store.list("Pod")] == ["on-n2"]
    assert ("ReplicationController", "default", "rc") in woken
