"""The node lifecycle controller's and the taint eviction controller's pure plans, and
their act against a store (no engine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podctl import driver, registry
from podctl.admission.tolerations import save_settings
from podctl.api import meta
from podctl.controllers.deletion import delete_object
from podctl.controllers.nodelifecycle import (
    NOT_READY,
    UNREACHABLE,
    UNSCHEDULABLE,
    Graces,
    NodeLifecycle,
    parse_duration,
    plan_node,
    taints_after,
    wanted_taints,
)
from podctl.controllers.slowstart import OwnerControl
from podctl.controllers.tainteviction import (
    TaintEviction,
    plan_evictions,
    toleration_time,
    used_tolerations,
)
from podctl.kubelet.heartbeat import Heartbeat, micro_time
from podctl.kubelet.teardown import finish_pod
from podctl.node import ensure_node, kubelet_conditions
from podctl.store import Store

T0 = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
STARTED = T0 - timedelta(hours=1)
G50 = Graces(50, 60)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def node(name: str = "n1", ready: str | None = "True", taints: list[Any] | None = None,
         heartbeat: datetime = T0, unschedulable: bool = False) -> dict[str, Any]:
    conditions = kubelet_conditions(True, meta.format_time(heartbeat), [])
    if ready is None:
        conditions = []
    else:
        conditions[-1]["status"] = ready
    spec: dict[str, Any] = {"taints": taints} if taints else {}
    if unschedulable:
        spec["unschedulable"] = True
    return {"kind": "Node", "metadata": {"name": name, "uid": "u-" + name,
                                         "creationTimestamp": "2026-12-06T10:00:00Z"},
            "spec": spec, "status": {"conditions": conditions}}


def lease(renewed: datetime) -> dict[str, Any]:
    return {"kind": "Lease", "spec": {"renewTime": micro_time(renewed)}}


# -- the lifecycle plan -----------------------------------------------------------------

def test_a_node_heard_of_within_the_grace_period_is_left_alone() -> None:
    plan = plan_node(node(), lease(at(40)), at(89), G50, STARTED)
    assert (plan.ready, plan.conditions, plan.taints, plan.events) == ("True", None, None, [])


def test_silence_past_the_grace_period_is_unknown_and_tainted_unreachable() -> None:
    plan = plan_node(node(), lease(at(10)), at(61), G50, STARTED, previous_ready="True")
    assert plan.ready == "Unknown"
    assert plan.conditions is not None
    ready = next(c for c in plan.conditions if c["type"] == "Ready")
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert ready["lastTransitionTime"] == meta.format_time(at(61))
    assert ready["lastHeartbeatTime"] == meta.format_time(T0)  # the last one heard
    assert {c["type"]: c["status"] for c in plan.conditions} == {
        "Ready": "Unknown", "MemoryPressure": "Unknown", "DiskPressure": "Unknown",
        "PIDPressure": "Unknown"}
    assert plan.taints == [
        {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": meta.format_time(at(61))},
        {"key": UNREACHABLE, "effect": "NoSchedule"}]
    assert plan.events == [("NodeNotReady", "Node n1 status is now: NodeNotReady")]


def test_the_lease_or_the_status_heartbeat_whichever_is_later_counts() -> None:
    # The status was posted long ago, the lease renewed recently: alive.
    assert plan_node(node(heartbeat=at(-500)), lease(at(30)), at(60), G50, STARTED).ready == \
        "True"
    # No lease at all: the status heartbeat alone.
    assert plan_node(node(heartbeat=at(0)), None, at(49), G50, STARTED).conditions is None
    assert plan_node(node(heartbeat=at(0)), None, at(51), G50, STARTED).ready == "Unknown"


def test_a_controller_just_started_gives_every_node_a_full_grace_period() -> None:
    plan = plan_node(node(heartbeat=at(-3600)), lease(at(-3600)), at(30), G50,
                     started=at(0))
    assert plan.ready == "True" and plan.conditions is None


def test_a_node_that_never_posted_is_never_updated() -> None:
    plan = plan_node(node(ready=None), None, at(61), G50, STARTED)
    assert plan.conditions is not None
    ready = next(c for c in plan.conditions if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.")
    assert ready["lastHeartbeatTime"] == "2026-12-06T10:00:00Z"  # its creation
    assert plan.events == []  # it never was Ready


def test_a_starting_kubelet_has_the_startup_grace_and_is_not_tainted_meanwhile() -> None:
    fresh = node(ready=None)
    fresh["metadata"]["creationTimestamp"] = meta.format_time(T0)
    waiting = plan_node(fresh, None, at(55), G50, STARTED)
    assert (waiting.conditions, waiting.taints) == (None, None)  # 55 s < the 60 s startup
    late = plan_node(fresh, None, at(61), G50, STARTED)
    assert late.conditions is not None and late.ready == "Unknown"
    assert late.taints is not None and [(t["key"], t["effect"]) for t in late.taints] == [
        (UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]


def test_unknown_already_writes_nothing_and_keeps_its_taints() -> None:
    first = plan_node(node(), None, at(61), G50, STARTED)
    assert first.conditions is not None and first.taints is not None
    tainted = node(taints=first.taints)
    tainted["status"]["conditions"] = first.conditions
    again = plan_node(tainted, None, at(120), G50, STARTED, previous_ready="Unknown")
    assert (again.conditions, again.taints, again.events) == (None, None, [])


def test_ready_false_is_tainted_not_ready_and_ready_again_untainted() -> None:
    user_taint = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    plan = plan_node(node(ready="False", taints=[user_taint]), lease(at(1)), at(2), G50,
                     STARTED, previous_ready="True")
    assert plan.taints == [user_taint,
                           {"key": NOT_READY, "effect": "NoExecute",
                            "timeAdded": meta.format_time(at(2))},
                           {"key": NOT_READY, "effect": "NoSchedule"}]
    assert plan.events and plan.events[0][0] == "NodeNotReady"
    back = plan_node(node(taints=plan.taints), lease(at(3)), at(4), G50, STARTED,
                     previous_ready="False")
    assert back.taints == [user_taint]  # only the user's taint stays
    cleared = plan_node(node(taints=[{"key": UNREACHABLE, "effect": "NoExecute"}]),
                        lease(at(3)), at(4), G50, STARTED)
    assert cleared.taints == []


def test_cordoned_is_tainted_unschedulable() -> None:
    assert wanted_taints("True", True, False) == {(UNSCHEDULABLE, "NoSchedule")}
    plan = plan_node(node(unschedulable=True), lease(at(1)), at(2), G50, STARTED)
    assert plan.taints == [{"key": UNSCHEDULABLE, "effect": "NoSchedule"}]


def test_full_disruption_adds_no_noexecute_taint() -> None:
    assert wanted_taints("Unknown", False, True) == {(UNREACHABLE, "NoSchedule")}
    existing = [{"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "x"}]
    assert taints_after(node(taints=existing), {(UNREACHABLE, "NoSchedule")}, "now") == [
        {"key": UNREACHABLE, "effect": "NoSchedule"}]


def test_go_durations() -> None:
    assert parse_duration("50s") == 50
    assert parse_duration("1m30s") == 90
    assert parse_duration("1.5h") == 5400
    assert parse_duration("500ms") == 0.5
    for bad in ("50", "s", "5x", "-5s", "5s "):
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(bad)


# -- the taint eviction plan ------------------------------------------------------------

def pod(name: str, tolerations: list[Any] | None = None, node_name: str = "n1",
        created: datetime | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "default", "uid": "u-" + name}
    if created is not None:
        md["creationTimestamp"] = meta.format_time(created)
    return {"kind": "Pod", "metadata": md,
            "spec": {"nodeName": node_name, "tolerations": tolerations or []}}


def unreachable(seconds: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        out["tolerationSeconds"] = seconds
    return out


def test_matching_tolerations_and_their_time() -> None:
    taints = [{"key": UNREACHABLE, "effect": "NoExecute"}, {"key": "k", "effect": "NoExecute"}]
    assert used_tolerations([unreachable(5)], taints) is None  # `k` is not tolerated
    everything = {"operator": "Exists"}
    assert used_tolerations([unreachable(5), everything], taints) == [unreachable(5),
                                                                       everything]
    assert toleration_time([unreachable(5), everything]) == 5
    assert toleration_time([everything]) is None  # forever
    assert toleration_time([unreachable(-3)]) == 0


def test_evictions_follow_the_shortest_toleration_from_the_taints_time() -> None:
    tainted = node(taints=[{"key": UNREACHABLE, "effect": "NoExecute",
                            "timeAdded": meta.format_time(T0)}])
    pods = [pod("none"), pod("short", [unreachable(2)]), pod("long", [unreachable(300)]),
            pod("forever", [unreachable(None)]), pod("elsewhere", node_name="n2"),
            pod("late", [unreachable(2)], created=at(5))]
    plan = plan_evictions(tainted, pods, at(1))
    assert [meta.name_of(p) for p in plan.now] == ["none"]
    assert plan.next_in == pytest.approx(1)
    plan = plan_evictions(tainted, pods, at(2))
    assert [meta.name_of(p) for p in plan.now] == ["none", "short"]
    assert plan.next_in == pytest.approx(5)  # `late` came after the taint: 2 s from its start
    assert [meta.name_of(p) for p in plan_evictions(tainted, pods, at(7)).now] == [
        "none", "short", "late"]
    assert [meta.name_of(p) for p in plan_evictions(tainted, pods, at(301)).now] == [
        "none", "short", "long", "late"]


def test_a_taint_with_a_time_no_one_can_read_counts_from_when_it_was_seen(
        node_store: Store) -> None:
    store = node_store
    registry.create(store, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"},
                            "spec": {"taints": [{"key": "k", "effect": "NoExecute",
                                                 "timeAdded": "garbage"}]}})
    registry.create(store, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                            "spec": {"nodeName": "n2", "tolerations": [
                                {"key": "k", "operator": "Exists", "effect": "NoExecute",
                                 "tolerationSeconds": 5}],
                                "containers": [{"name": "c", "image": "busybox"}]}})
    eviction = TaintEviction(store)
    now = datetime.now(UTC)
    assert eviction.run(now) == pytest.approx(5, abs=1)
    assert eviction.run(now + timedelta(seconds=2)) == pytest.approx(3, abs=1)
    eviction.run(now + timedelta(seconds=6))
    assert store.require("Pod", "default", "p")["metadata"].get("deletionTimestamp")


def test_no_noexecute_taint_evicts_nothing_and_deleting_pods_are_left() -> None:
    assert plan_evictions(node(taints=[{"key": "k", "effect": "NoSchedule"}]),
                          [pod("p")], at(1)).now == []
    going = pod("going")
    going["metadata"]["deletionTimestamp"] = meta.format_time(T0)
    tainted = node(taints=[{"key": "k", "effect": "NoExecute",
                            "timeAdded": "2026-01-01T00:00:00Z"}])
    assert plan_evictions(tainted, [going], at(1)).now == []


# -- acting on a store ------------------------------------------------------------------

FACTS = {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"}],
         "capacity": {"cpu": "2", "memory": "1Ki", "pods": "110"},
         "allocatable": {"cpu": "2", "memory": "1Ki", "pods": "110"}}


def test_a_silent_node_loses_its_pods_and_comes_back(node_store: Store) -> None:
    """A kubelet (here a Heartbeat with a fake probe) beats, goes silent, comes back: the
    node goes Unknown and tainted, its untolerating pod is deleted (and stays Terminating:
    its kubelet is gone), its tolerating pod waits, and the taints go once it is back."""
    store = node_store
    registry.create(store, {"apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": "n2"}, "spec": {}})
    up = {"on": True}

    def probe() -> dict[str, Any]:
        if not up["on"]:
            from podctl.errors import DockerUnavailable

            raise DockerUnavailable("down")
        return FACTS

    kubelet = Heartbeat(store, "n2", probe, on_node=True)
    # Another node stays Ready: with every node down nothing would be evicted.
    other = Heartbeat(store, "node", lambda: FACTS)
    now = datetime.now(UTC)
    kubelet.beat(now)
    other.beat(now + timedelta(seconds=4))
    lifecycle = NodeLifecycle(store, Graces(3, 3), period=1)
    lifecycle.started = now - timedelta(hours=1)
    save_settings(store.path.parent, 300, 1)  # run-controller's admission flags
    for name, tolerations in (("bare", []), ("patient", [unreachable(60)])):
        registry.create(store, {"apiVersion": "v1", "kind": "Pod",
                                "metadata": {"name": name}, "spec": {
                                    "nodeName": "n2", "tolerations": tolerations,
                                    "containers": [{"name": "c", "image": "busybox"}]}})
    assert lifecycle.monitor(now + timedelta(seconds=1)) is None
    assert store.require("Node", "", "n2")["status"]["conditions"][-1]["status"] == "True"

    patient = store.require("Pod", "default", "patient")
    patient["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    store.update_status(patient)

    up["on"] = False
    kubelet.beat(now + timedelta(seconds=2))  # nothing posted: the node is down
    next_in = lifecycle.monitor(now + timedelta(seconds=5))
    stored = store.require("Node", "", "n2")
    assert [c["status"] for c in stored["status"]["conditions"]] == ["Unknown"] * 4
    assert [(t["key"], t["effect"]) for t in stored["spec"]["taints"]] == [
        (UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]
    assert next_in is not None and next_in <= 1  # the default toleration: 1 s
    assert not store.require("Pod", "default", "bare")["metadata"].get("deletionTimestamp")
    next_in = lifecycle.monitor(now + timedelta(seconds=6.5))
    bare = store.require("Pod", "default", "bare")
    assert bare["metadata"].get("deletionTimestamp")
    assert not store.require("Pod", "default", "patient")["metadata"].get("deletionTimestamp")
    assert next_in is not None and 53 < next_in <= 60
    disruption = bare["status"]["conditions"][-1]
    assert (disruption["type"], disruption["status"], disruption["reason"],
            disruption["message"]) == ("DisruptionTarget", "True", "DeletionByTaintManager",
                                       "Taint manager: deleting due to NoExecute taint")
    reasons = {(e["reason"], e["message"]) for e in store.events_for(meta.uid_of(bare))}
    assert ("TaintManagerEviction", "Marking for deletion Pod default/bare") in reasons
    node_events = {e["reason"] for e in store.events_for(meta.uid_of(stored))}
    assert "NodeNotReady" in node_events
    patient = store.require("Pod", "default", "patient")
    assert patient["status"]["conditions"][0]["status"] == "False"
    assert ("NodeNotReady", "Node is not ready") in {
        (e["reason"], e["message"]) for e in store.events_for(meta.uid_of(patient))}
    # Its kubelet is unreachable: the pod stays Terminating; a force delete removes it.
    assert finish_pod(store, bare) is False
    assert store.get("Pod", "default", "bare") is not None
    forced = delete_object(store, "Pod", "default", "bare", grace=0).marked
    assert forced is not None and finish_pod(store, forced) is True
    assert store.get("Pod", "default", "bare") is None

    up["on"] = True
    kubelet.beat(now + timedelta(seconds=7))
    assert store.require("Node", "", "n2")["status"]["conditions"][-1]["status"] == "True"
    lifecycle.monitor(now + timedelta(seconds=8))
    assert "taints" not in store.require("Node", "", "n2")["spec"]
    assert not store.require("Pod", "default", "patient")["metadata"].get("deletionTimestamp")


def test_a_deleted_nodes_lease_goes(node_store: Store) -> None:
    store = node_store
    registry.create(store, {"apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": "n3"}, "spec": {}})
    Heartbeat(store, "n3", lambda: FACTS).beat()
    assert store.get("Lease", "kube-node-lease", "n3") is not None
    store.delete("Node", "", "n3")
    NodeLifecycle(store).monitor(datetime.now(UTC))
    assert store.get("Lease", "kube-node-lease", "n3") is None


def test_a_restarted_controller_carries_on_from_the_store(node_store: Store) -> None:
    """After a kill -9 nothing is in memory: the stored taint's timeAdded still times the
    eviction, and the node stays Unknown and tainted through the new grace period."""
    store = node_store
    registry.create(store, {"apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": "n2"}, "spec": {}})
    Heartbeat(store, "n2", lambda: FACTS).beat()
    save_settings(store.path.parent, 300, 30)
    registry.create(store, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                            "spec": {"nodeName": "n2",
                                     "containers": [{"name": "c", "image": "busybox"}]}})
    now = datetime.now(UTC)
    first = NodeLifecycle(store, Graces(3, 3))
    first.started = now - timedelta(hours=1)
    Heartbeat(store, "node", lambda: FACTS).beat(now + timedelta(seconds=10))
    first.monitor(now + timedelta(seconds=10))
    tainted = store.require("Node", "", "n2")
    added = next(t["timeAdded"] for t in tainted["spec"]["taints"] if t["effect"] == "NoExecute")

    second = NodeLifecycle(store, Graces(3, 3))  # started now: every node gets a grace period
    later = meta.parse_time(added) + timedelta(seconds=20)
    Heartbeat(store, "node", lambda: FACTS).beat(later)
    second.started = later
    assert second.monitor(later) == pytest.approx(10, abs=1)
    again = store.require("Node", "", "n2")
    assert again["spec"]["taints"] == tainted["spec"]["taints"]
    assert again["status"]["conditions"] == tainted["status"]["conditions"]
    assert not store.require("Pod", "default", "p")["metadata"].get("deletionTimestamp")
    Heartbeat(store, "node", lambda: FACTS).beat(later + timedelta(seconds=11))
    second.monitor(later + timedelta(seconds=11))
    assert store.require("Pod", "default", "p")["metadata"].get("deletionTimestamp")


class Keys:
    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, key: Any, delay: float = 0.0) -> None:
        self.added.append(key)


def test_a_nodes_return_wakes_the_pods_its_fall_held_up(node_store: Store) -> None:
    """Its Terminating pods, and (once it is Ready) the pods marked not Ready, are synced
    again by its kubelet; others are left alone."""
    store = node_store
    registry.create(store, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"},
                            "spec": {}})
    for name, node_name, ready in (("marked", "n2", "False"), ("fine", "n2", "True"),
                                   ("going", "n2", "True"), ("other", "node", "False")):
        made = registry.create(store, {"apiVersion": "v1", "kind": "Pod",
                                       "metadata": {"name": name}, "spec": {
                                           "nodeName": node_name,
                                           "containers": [{"name": "c", "image": "b"}]}})
        made["status"]["conditions"] = [{"type": "Ready", "status": ready}]
        store.update_status(made)
    delete_object(store, "Pod", "default", "going")
    keys = Keys()
    ctx = driver.Context(store, OwnerControl(), keys)
    driver.sync_node(ctx, "", "n2")  # not Ready (no kubelet ever posted)
    assert [k for k in keys.added if k[0] == "Pod"] == [("Pod", "default", "going")]
    Heartbeat(store, "n2", lambda: FACTS).beat()
    keys.added.clear()
    driver.sync_node(ctx, "", "n2")
    assert sorted(k for k in keys.added if k[0] == "Pod") == [
        ("Pod", "default", "going"), ("Pod", "default", "marked")]


def test_the_host_node_is_the_one_registered_not_the_first_listed(node_store: Store) -> None:
    """A Node sorting before the host's (registered through the API, or added) does not
    change which node the host's kubelet is."""
    registry.create(node_store, {"apiVersion": "v1", "kind": "Node",
                                 "metadata": {"name": "a-first"}, "spec": {}})
    assert meta.name_of(ensure_node(node_store)) == "node"
