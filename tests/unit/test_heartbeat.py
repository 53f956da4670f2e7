"""The kubelet's heartbeats (Lease renewal, node status posts) and the DefaultTolerationSeconds
admission, against a store (no engine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from podctl import registry
from podctl.admission.tolerations import (
    NOT_READY,
    SETTINGS_FILE,
    UNREACHABLE,
    load_settings,
    save_settings,
    with_default_tolerations,
)
from podctl.api import meta
from podctl.errors import DockerUnavailable
from podctl.kubelet.heartbeat import LEASE_NAMESPACE, Heartbeat, status_to_post
from podctl.manifest.update import merged
from podctl.node import RUNTIME_DOWN, kubelet_conditions
from podctl.store import Store

T0 = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
FACTS = {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"}],
         "capacity": {"cpu": "2", "memory": "1Ki", "pods": "110"},
         "allocatable": {"cpu": "2", "memory": "1Ki", "pods": "110"},
         "nodeInfo": {"kubeletVersion": "podctl-v0"}}


def posted(seconds: float) -> dict[str, Any]:
    return {**FACTS, "conditions": kubelet_conditions(
        True, meta.format_time(T0 + timedelta(seconds=seconds)), [])}


def test_a_status_is_posted_when_it_changes_or_every_five_minutes() -> None:
    current = posted(0)
    later = T0 + timedelta(seconds=10)
    assert status_to_post(current, FACTS, True, later, last_post=T0) is None
    moved = {**FACTS, "addresses": [{"type": "InternalIP", "address": "10.0.0.3"}]}
    assert status_to_post(current, moved, True, later, T0)["addresses"] == moved["addresses"]
    assert status_to_post(current, FACTS, True, T0 + timedelta(minutes=5), T0) is not None
    assert status_to_post(current, FACTS, True, later, last_post=None) is not None


def test_the_runtime_down_is_ready_false_and_keeps_the_stored_facts() -> None:
    out = status_to_post(posted(0), None, False, T0 + timedelta(seconds=10), T0)
    assert out is not None and out["addresses"] == FACTS["addresses"]
    ready = out["conditions"][-1]
    assert (ready["type"], ready["status"], ready["reason"], ready["message"]) == (
        "Ready", "False", "KubeletNotReady", RUNTIME_DOWN)
    assert ready["lastTransitionTime"] == meta.format_time(T0 + timedelta(seconds=10))
    # An unchanged condition keeps when it last changed; its heartbeat moves.
    memory = out["conditions"][0]
    assert memory["type"] == "MemoryPressure"
    assert memory["lastTransitionTime"] == meta.format_time(T0)
    assert memory["lastHeartbeatTime"] == meta.format_time(T0 + timedelta(seconds=10))


def add_node(store: Store, name: str) -> None:
    registry.create(store, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                            "spec": {}})


def test_a_beat_makes_then_renews_the_nodes_lease(node_store: Store) -> None:
    add_node(node_store, "n2")
    beat = Heartbeat(node_store, "n2", lambda: FACTS)
    beat.beat(T0)
    assert node_store.get("Namespace", "", LEASE_NAMESPACE) is not None
    lease = node_store.require("Lease", LEASE_NAMESPACE, "n2")
    node = node_store.require("Node", "", "n2")
    assert lease["spec"] == {"holderIdentity": "n2", "leaseDurationSeconds": 40,
                             "renewTime": "2026-12-06T12:00:00.000000Z"}
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "n2", "uid": meta.uid_of(node)}]
    assert node["status"]["conditions"][-1]["status"] == "True"
    assert node["status"]["capacity"] == FACTS["capacity"]
    version = node["metadata"]["resourceVersion"]
    beat.beat(T0 + timedelta(seconds=10, microseconds=5))
    assert node_store.require("Lease", LEASE_NAMESPACE, "n2")["spec"]["renewTime"] == \
        "2026-12-06T12:00:10.000005Z"
    # Nothing changed: the Node is not written again, by this kubelet or a new one (a
    # command's one beat) within five minutes of the stored post.
    Heartbeat(node_store, "n2", lambda: FACTS).beat(T0 + timedelta(seconds=20))
    assert node_store.require("Node", "", "n2")["metadata"]["resourceVersion"] == version
    Heartbeat(node_store, "n2", lambda: FACTS).beat(T0 + timedelta(minutes=5))
    assert node_store.require("Node", "", "n2")["metadata"]["resourceVersion"] != version


def down() -> dict[str, Any]:
    raise DockerUnavailable("no engine")


def test_the_hosts_kubelet_reports_its_engine_down(node_store: Store) -> None:
    add_node(node_store, "n2")
    Heartbeat(node_store, "n2", lambda: FACTS).beat(T0)
    Heartbeat(node_store, "n2", down).beat(T0 + timedelta(seconds=10))
    assert node_store.get("Lease", LEASE_NAMESPACE, "n2") is not None
    node = node_store.require("Node", "", "n2")
    ready = node["status"]["conditions"][-1]
    assert (ready["status"], ready["reason"]) == ("False", "KubeletNotReady")
    Heartbeat(node_store, "n2", lambda: FACTS).beat(T0 + timedelta(seconds=20))
    events = {(e["reason"], e["message"]): e["count"]
              for e in node_store.events_for(meta.uid_of(node))}
    assert events == {("NodeReady", "Node n2 status is now: NodeReady"): 2,
                      ("NodeNotReady", "Node n2 status is now: NodeNotReady"): 1}


def test_a_nodes_own_kubelet_goes_silent_with_its_engine(node_store: Store) -> None:
    add_node(node_store, "n2")
    Heartbeat(node_store, "n2", down, on_node=True).beat(T0)
    assert node_store.get("Lease", LEASE_NAMESPACE, "n2") is None
    assert "conditions" not in (node_store.require("Node", "", "n2").get("status") or {})


def test_a_deleted_node_is_not_brought_back(node_store: Store) -> None:
    Heartbeat(node_store, "gone", lambda: FACTS).beat(T0)
    assert node_store.get("Node", "", "gone") is None
    assert node_store.get("Lease", LEASE_NAMESPACE, "gone") is None


# -- DefaultTolerationSeconds ------------------------------------------------------------

def test_the_default_tolerations_are_added_unless_one_covers_them() -> None:
    assert with_default_tolerations([], 300, 60) == [
        {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 60}]
    everything = [{"operator": "Exists"}]
    assert with_default_tolerations(everything, 300, 300) == everything
    own = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 6000}]
    assert with_default_tolerations(own, 300, 300) == [
        own[0], {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 300}]
    # NoSchedule only does not cover NoExecute.
    no_schedule = [{"key": NOT_READY, "operator": "Exists", "effect": "NoSchedule"}]
    assert len(with_default_tolerations(no_schedule, 300, 300)) == 3


def pod(name: str, tolerations: list[Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def test_every_pod_created_gets_them_with_the_controllers_seconds(node_store: Store) -> None:
    home = node_store.path.parent
    assert load_settings(home) == (300, 300)
    first = registry.create(node_store, pod("a"))
    assert [t["tolerationSeconds"] for t in first["spec"]["tolerations"]] == [300, 300]
    save_settings(home, 30, 5)
    second = registry.create(node_store, pod("b", [{"key": "k", "operator": "Exists"}]))
    assert [(t.get("key"), t.get("tolerationSeconds")) for t in second["spec"]["tolerations"]
            ] == [("k", None), (NOT_READY, 30), (UNREACHABLE, 5)]
    # A hostile settings file means the defaults.
    (home / SETTINGS_FILE).write_text('{"notReady": -4, "unreachable": "x"}')
    assert load_settings(home) == (300, 300)
    (home / SETTINGS_FILE).write_text("[")
    assert load_settings(home) == (300, 300)


def test_a_reapplied_pod_keeps_its_tolerations(node_store: Store) -> None:
    stored = registry.create(node_store, pod("a"))
    again = merged(stored, {**stored, "spec": {**stored["spec"], "tolerations": []}})
    assert again["spec"]["tolerations"] == stored["spec"]["tolerations"]
    more = [{"key": "k", "operator": "Exists"}]
    added = merged(stored, {**stored, "spec": {**stored["spec"], "tolerations": more}})
    assert added["spec"]["tolerations"] == stored["spec"]["tolerations"] + more


def test_a_post_that_lost_a_race_is_made_again_on_a_fresh_read(node_store: Store) -> None:
    add_node(node_store, "n2")
    stale = node_store.require("Node", "", "n2")
    registry.mutate(node_store, "Node", "", "n2",
                    lambda n: bool(n["spec"].update(taints=[{"key": "k", "effect": "NoSchedule"}])
                                   or True))
    Heartbeat(node_store, "n2", lambda: FACTS)._post(stale, FACTS, T0)
    node = node_store.require("Node", "", "n2")
    assert node["status"]["conditions"][-1]["status"] == "True"
    assert node["spec"]["taints"] == [{"key": "k", "effect": "NoSchedule"}]
