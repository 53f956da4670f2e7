"""slowstart and podcontrol: slow-start batches, the burst cap, expectations and the per-owner
back-off that let every pod-making controller be stopped."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from podctl.controllers.job import plan_job
from podctl.controllers.podcontrol import create_pods, delete_pods, fresh_name
from podctl.controllers.rc_sync import ReplicaSync
from podctl.controllers.replication import plan_rc, pod_from_template
from podctl.controllers.slowstart import (
    BURST_REPLICAS,
    Backoff,
    Expectations,
    OwnerControl,
    batch_sizes,
    slow_start,
)
from podctl.store.db import Store

NOW = datetime(2026, 6, 1, tzinfo=UTC)
KEY = ("ReplicaSet", "default", "web")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A create and an owner re-read that log their calls, as 'c' and 'r'."""

    def __init__(self, fail_at: int | None = None, changed_at: int | None = None,
                 stop_at: int | None = None) -> None:
        self.calls: list[str] = []
        self.fail_at, self.changed_at, self.stop_at = fail_at, changed_at, stop_at
        self.stop = threading.Event()

    def create(self, ordinal: int) -> int:
        self.calls.append("c")
        made = self.calls.count("c")
        if made == self.stop_at:
            self.stop.set()  # a SIGTERM arriving while this pod is made
        if made == self.fail_at:
            raise OSError(28, "No space left on device")
        return ordinal

    def unchanged(self) -> bool:
        self.calls.append("r")
        return self.calls.count("r") != self.changed_at

    def batches(self) -> list[int]:
        """The number of creations between owner re-reads."""
        return [len(run) for run in "".join(self.calls).split("r")[1:]]

    def run(self, count: int) -> Any:
        return slow_start(count, self.create, self.unchanged, self.stop)


def test_batch_sizes_double_from_one() -> None:
    assert list(batch_sizes(10)) == [1, 2, 4, 3]
    assert list(batch_sizes(0)) == []
    assert list(batch_sizes(BURST_REPLICAS)) == [1, 2, 4, 8, 16, 32, 64, 128, 245]


def test_slow_start_creates_in_batches_and_rereads_the_owner_before_each() -> None:
    rec = Recorder()
    done = rec.run(20)
    assert done.made == list(range(20)) and done.error is None and not done.stopped
    assert rec.batches() == [1, 2, 4, 8, 5]


def test_a_failure_stops_the_rest_of_its_batch_and_every_later_batch() -> None:
    rec = Recorder(fail_at=5)  # the 2nd pod of the batch of 4
    done = rec.run(100)
    assert len(done.made) == 4 and isinstance(done.error, OSError)
    assert rec.batches() == [1, 2, 2]


def test_a_failing_template_is_tried_once() -> None:
    rec = Recorder(fail_at=1)
    done = rec.run(100000)
    assert done.made == [] and rec.calls == ["r", "c"]


def test_an_owner_changed_between_batches_stops_at_once() -> None:
    rec = Recorder(changed_at=4)  # scaled down or deleted after 1 + 2 + 4 pods
    done = rec.run(100000)
    assert len(done.made) == 7 and done.stopped and done.error is None
    assert rec.batches() == [1, 2, 4, 0]


def test_a_stop_is_seen_between_pods_of_a_batch() -> None:
    rec = Recorder(stop_at=5)
    done = rec.run(100000)
    assert len(done.made) == 5 and done.stopped


def test_plans_never_ask_for_more_than_a_burst() -> None:
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "default",
                                             "uid": "rs-1"},
          "spec": {"replicas": 100000, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}}}
    assert plan_rc(rs, [], NOW).create == BURST_REPLICAS
    job = {"kind": "Job", "metadata": {"name": "j", "namespace": "default", "uid": "j-1"},
           "spec": {"parallelism": 100000, "completions": 2**31 - 1,
                    "template": {"spec": {"restartPolicy": "Never", "containers": []}}}}
    assert len(plan_job(job, [], NOW).create) == BURST_REPLICAS
    indexed = copy.deepcopy(job)
    indexed["spec"]["completionMode"] = "Indexed"
    assert plan_job(indexed, [], NOW).create == list(range(BURST_REPLICAS))


def test_surplus_deletions_are_a_burst_at_most() -> None:
    rs = {"kind": "ReplicationController", "metadata": {"name": "web", "namespace": "default",
                                                        "uid": "rc-1"},
          "spec": {"replicas": 0, "selector": {"app": "web"},
                   "template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}}}
    pods = [{"metadata": {"name": f"p{i}", "namespace": "default", "uid": f"u{i}",
                          "labels": {"app": "web"},
                          "ownerReferences": [{"uid": "rc-1", "controller": True}]},
             "spec": {}, "status": {"phase": "Running"}} for i in range(BURST_REPLICAS + 20)]
    assert len(plan_rc(rs, pods, NOW).delete) == BURST_REPLICAS


def test_expectations_wait_for_the_watcher_to_see_the_writes() -> None:
    clock = Clock()
    exp = Expectations(clock=clock)
    assert exp.satisfied(KEY)
    exp.expect(KEY, 10)
    exp.expect(KEY, 12)
    assert not exp.satisfied(KEY)
    exp.observed(11)
    assert not exp.satisfied(KEY)
    exp.observed(12)
    assert exp.satisfied(KEY)
    exp.expect(KEY, 12)  # already seen: nothing to wait for
    assert exp.satisfied(KEY)


def test_unseen_expectations_expire_after_the_timeout() -> None:
    clock = Clock()
    exp = Expectations(timeout=300.0, clock=clock)
    exp.expect(KEY, 5)
    clock.now += 299.0
    assert not exp.satisfied(KEY)
    clock.now += 1.0
    assert exp.satisfied(KEY)


def test_unmet_expectations_keep_a_stale_view_from_creating_twice() -> None:
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "default",
                                             "uid": "rs-1"},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}}}
    exp = Expectations()
    exp.expect(KEY, 7)  # the last sync made pods up to revision 7
    stale: list[dict[str, Any]] = []  # a view that does not hold them yet
    assert plan_rc(rs, stale, NOW, exp.satisfied(KEY)).create == 0
    exp.observed(7)
    assert plan_rc(rs, stale, NOW, exp.satisfied(KEY)).create == 3


def test_backoff_doubles_per_failure_up_to_its_cap_and_is_per_owner() -> None:
    clock = Clock()
    backoff = Backoff(base=0.005, cap=1000.0, clock=clock)
    delays = [backoff.failed(KEY) for _ in range(20)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04] and delays[-1] == 1000.0
    assert backoff.wait(KEY) == 1000.0
    assert backoff.wait(("ReplicaSet", "default", "other")) == 0.0
    clock.now += 400.0
    assert backoff.wait(KEY) == 600.0
    backoff.forget(KEY)
    assert backoff.wait(KEY) == 0.0


# -- podcontrol against a real store -----------------------------------------------------

@pytest.fixture
def store(node_store: Store) -> Store:
    return node_store


def replica_set(store: Store, replicas: int) -> dict[str, Any]:
    return store.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}}}})


def maker(rs: dict[str, Any], taken: set[str]) -> Callable[[int], dict[str, Any]]:
    return lambda _: pod_from_template(rs, fresh_name("web", taken))


def reasons(store: Store, rs: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(e["reason"], e["message"], e["count"])
            for e in store.events_for(rs["metadata"]["uid"])]


def test_create_pods_expects_its_writes_and_events_each_pod(store: Store) -> None:
    rs = replica_set(store, 3)
    control = OwnerControl()
    done = create_pods(store, rs, 3, maker(rs, set()), control, "replicaset-controller")
    assert len(done.pods) == 3 and done.retry_in is None
    assert not control.expectations.satisfied(KEY)
    control.expectations.observed(store.revision())
    assert control.expectations.satisfied(KEY)
    assert [r for r, _, _ in reasons(store, rs)] == ["SuccessfulCreate"] * 3


def test_a_failed_creation_backs_off_with_a_failed_create_event(store: Store) -> None:
    rs = replica_set(store, 100000)
    control = OwnerControl(backoff=Backoff(base=60.0))  # does not run out during the test

    def full(_: int) -> dict[str, Any]:
        raise OSError(28, "No space left on device")

    first = create_pods(store, rs, 500, full, control, "replicaset-controller")
    assert first.pods == [] and first.retry_in == 60.0
    assert first.failure == "[Errno 28] No space left on device"
    assert reasons(store, rs) == [
        ("FailedCreate", "Error creating: [Errno 28] No space left on device", 1)]
    # Asked again at once (a pod of its namespace changed): nothing is tried.
    again = create_pods(store, rs, 500, full, control, "replicaset-controller")
    assert again.backing_off and again.retry_in is not None and again.retry_in <= 60.0
    assert reasons(store, rs)[0][2] == 1


def test_creation_stops_when_the_owner_is_scaled_down(store: Store) -> None:
    rs = replica_set(store, 100000)
    control = OwnerControl()
    taken: set[str] = set()
    make = maker(rs, taken)

    def scale_to_0(owner: dict[str, Any]) -> bool:
        owner["spec"]["replicas"] = 0
        return True

    def make_then_scale(ordinal: int) -> dict[str, Any]:
        if ordinal == 5:  # in the batch of 4 (pods 3 to 6): the next batch must not start
            store.mutate("ReplicaSet", "default", "web", scale_to_0)
        return make(ordinal)

    done = create_pods(store, rs, 500, make_then_scale, control, "replicaset-controller")
    assert len(done.pods) == 7 and done.retry_in == 0.0
    assert len(store.list("Pod", "default")) == 7


def test_creation_stops_when_the_owner_is_deleted(store: Store) -> None:
    rs = replica_set(store, 100000)
    make = maker(rs, set())

    def make_then_delete(ordinal: int) -> dict[str, Any]:
        if ordinal == 0:
            store.delete("ReplicaSet", "default", "web")
        return make(ordinal)

    done = create_pods(store, rs, 500, make_then_delete, OwnerControl(), "x")
    assert len(done.pods) == 1


def test_deletions_stop_with_the_controller(store: Store) -> None:
    rs = replica_set(store, 0)
    control = OwnerControl()
    made = create_pods(store, rs, 6, maker(rs, set()), control, "replicaset-controller").pods
    control.stop.set()
    assert delete_pods(store, rs, made, control, "replicaset-controller") == []
    control.stop.clear()
    marked = delete_pods(store, rs, made, control, "replicaset-controller")
    assert len(marked) == 6 and all(p["metadata"]["deletionTimestamp"] for p in marked)


def test_an_owner_made_again_after_its_deletion_inherits_no_back_off(store: Store) -> None:
    rs = replica_set(store, 1)
    control = OwnerControl(backoff=Backoff(base=60.0))

    def full(_: int) -> dict[str, Any]:
        raise OSError(28, "No space left on device")

    assert create_pods(store, rs, 1, full, control, "replicaset-controller").retry_in == 60.0
    store.delete("ReplicaSet", "default", "web")
    ReplicaSync("ReplicaSet").run(store, "default", "web", control)  # sees it gone
    again = replica_set(store, 1)
    made = create_pods(store, again, 1, maker(again, set()), control, "replicaset-controller")
    assert len(made.pods) == 1 and not made.backing_off
