"""The DaemonSet controller's pure parts: node eligibility, tolerations, the plan."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from podctl.controllers.daemonset import (
    REVISION_HASH,
    _daemon_pod,
    daemon_tolerations,
    node_should_run,
    plan_daemon_set,
    target_node,
    tolerates,
)
from podctl.controllers.deployment import template_hash

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NODE: dict[str, Any] = {"kind": "Node", "metadata": {"name": "vm", "labels": {
    "kubernetes.io/hostname": "vm", "disk": "ssd"}}, "spec": {}}


def daemon_set(**pod_spec: Any) -> dict[str, Any]:
    return {"kind": "DaemonSet", "metadata": {"name": "d", "namespace": "default",
                                              "uid": "u1", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "d"}},
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"maxUnavailable": 1,
                                                          "maxSurge": 0}},
                     "template": {"metadata": {"labels": {"app": "d"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}],
                                           **pod_spec}}}}


def node(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(NODE)
    out["spec"].update(changes)
    return out


def pod(name: str, hash_: str, ready: bool = True, created: str = "2025-12-31T00:00:00Z",
        phase: str = "Running", on: str = "vm") -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True" if ready else "False",
                   "lastTransitionTime": created}]
    return {"metadata": {"name": name, "labels": {"app": "d", REVISION_HASH: hash_},
                         "creationTimestamp": created},
            "spec": {"nodeName": on}, "status": {"phase": phase, "conditions": conditions}}


def test_node_selector_and_node_name_decide() -> None:
    assert node_should_run(daemon_set(nodeSelector={"disk": "ssd"}), NODE) == (True, True)
    assert node_should_run(daemon_set(nodeSelector={"disk": "hdd"}), NODE) == (False, False)
    assert node_should_run(daemon_set(nodeName="other"), NODE) == (False, False)


def test_required_node_affinity_terms_are_ored_expressions_anded() -> None:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["hdd"]}]},
            {"matchExpressions": [{"key": "disk", "operator": "Exists"},
                                  {"key": "gpu", "operator": "DoesNotExist"}]}]}}}
    assert node_should_run(daemon_set(affinity=affinity), NODE) == (True, True)
    affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][1]["matchExpressions"][1]["operator"] = "Exists"
    assert node_should_run(daemon_set(affinity=affinity), NODE) == (False, False)


def test_taints_no_schedule_keeps_a_running_pod_no_execute_evicts_it() -> None:
    no_schedule = node(taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])
    assert node_should_run(daemon_set(), no_schedule) == (False, True)
    no_execute = node(taints=[{"key": "k", "effect": "NoExecute"}])
    assert node_should_run(daemon_set(), no_execute) == (False, False)
    tolerated = daemon_set(tolerations=[{"key": "k", "operator": "Exists"}])
    assert node_should_run(tolerated, no_execute) == (True, True)
    preferred = node(taints=[{"key": "k", "effect": "PreferNoSchedule"}])
    assert node_should_run(daemon_set(), preferred) == (True, True)


def test_cordoned_node_is_tolerated_automatically() -> None:
    cordoned = node(taints=[{"key": "node.kubernetes.io/unschedulable",
                             "effect": "NoSchedule"}])
    assert node_should_run(daemon_set(), cordoned) == (True, True)
    keys = {t["key"] for t in daemon_tolerations({"hostNetwork": True})}
    assert "node.kubernetes.io/network-unavailable" in keys
    assert "node.kubernetes.io/network-unavailable" not in {
        t["key"] for t in daemon_tolerations({})}


def test_toleration_matching() -> None:
    taint = {"key": "k", "value": "v", "effect": "NoSchedule"}
    assert tolerates({"key": "k", "value": "v"}, taint)
    assert not tolerates({"key": "k", "value": "w"}, taint)
    assert tolerates({"operator": "Exists"}, taint)
    assert not tolerates({"key": "k", "operator": "Exists", "effect": "NoExecute"}, taint)


def test_plan_creates_the_missing_pod_and_removes_extras_keeping_the_oldest() -> None:
    ds = daemon_set()
    plan = plan_daemon_set(ds, [NODE], [], NOW)
    assert plan.create_on == ["vm"] and plan.delete == []
    assert plan.status["desiredNumberScheduled"] == 1
    current = template_hash(ds["spec"]["template"])
    old, young = pod("a", current), pod("b", current, created="2025-12-31T01:00:00Z")
    plan = plan_daemon_set(ds, [NODE], [young, old], NOW)
    assert not plan.create_on and plan.delete == [young]
    assert plan.status["numberAvailable"] == 1 and plan.status["numberReady"] == 1


def test_plan_removes_the_pod_when_the_node_stops_matching() -> None:
    ds = daemon_set(nodeSelector={"disk": "hdd"})
    running = pod("a", template_hash(ds["spec"]["template"]))
    plan = plan_daemon_set(ds, [NODE], [running], NOW)
    assert plan.delete == [running] and not plan.create_on
    assert plan.status["desiredNumberScheduled"] == 0


def test_rolling_update_without_surge_replaces_then_with_surge_waits_for_the_new_pod() -> None:
    ds = daemon_set()
    stale = pod("old", "stale")
    plan = plan_daemon_set(ds, [NODE], [stale], NOW)
    assert plan.delete == [stale] and plan.create_on == ["vm"]
    ds["spec"]["updateStrategy"]["rollingUpdate"] = {"maxUnavailable": 0, "maxSurge": 1}
    plan = plan_daemon_set(ds, [NODE], [stale], NOW)
    assert plan.delete == [] and plan.create_on == ["vm"]
    fresh = pod("new", template_hash(ds["spec"]["template"]), ready=False)
    assert plan_daemon_set(ds, [NODE], [stale, fresh], NOW).delete == []
    fresh = pod("new", template_hash(ds["spec"]["template"]))
    assert plan_daemon_set(ds, [NODE], [stale, fresh], NOW).delete == [stale]


def test_failed_pods_are_deleted_and_reported() -> None:
    ds = daemon_set()
    failed = pod("a", template_hash(ds["spec"]["template"]), phase="Failed")
    plan = plan_daemon_set(ds, [NODE], [failed], NOW)
    assert plan.failed == [failed] and plan.delete == [failed] and plan.create_on == ["vm"]


def named(name: str, **labels: str) -> dict[str, Any]:
    return {"kind": "Node", "metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name, **labels}}, "spec": {}}


NODES = [named("n1", disk="ssd"), named("n2", disk="ssd"), named("n3", disk="hdd")]


def test_one_pod_per_matching_node_each_aimed_by_node_affinity() -> None:
    ds = daemon_set(nodeSelector={"disk": "ssd"})
    current = template_hash(ds["spec"]["template"])
    plan = plan_daemon_set(ds, NODES, [pod("a", current, on="n1")], NOW)
    assert plan.create_on == ["n2"] and plan.delete == []
    assert plan.status["desiredNumberScheduled"] == 2
    assert plan.status["currentNumberScheduled"] == 2
    assert plan.status["numberAvailable"] == 1 and plan.status["numberUnavailable"] == 1
    stray = pod("b", current, on="n3")
    plan = plan_daemon_set(ds, NODES, [pod("a", current, on="n1"), stray], NOW)
    assert plan.delete == [stray] and plan.status["numberMisscheduled"] == 0
    # A NoSchedule taint keeps a running daemon pod, counted as misscheduled.
    tainted = [*NODES[:2], named("n3", disk="ssd")]
    tainted[2]["spec"]["taints"] = [{"key": "k", "effect": "NoSchedule"}]
    plan = plan_daemon_set(ds, tainted, [pod("a", current, on="n1"), stray], NOW)
    assert plan.delete == [] and plan.status["numberMisscheduled"] == 1
    made = _daemon_pod(ds, "n2", "d-x")
    assert target_node(made) == "n2" and "nodeName" not in made["spec"]
    assert made["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"] == {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}


def test_rolling_update_replaces_as_many_old_pods_as_max_unavailable_allows() -> None:
    ds = daemon_set()
    old = [pod(f"o{i}", "stale", on=f"n{i}") for i in (1, 2, 3)]
    plan = plan_daemon_set(ds, NODES, old, NOW)
    assert plan.delete == [old[0]] and plan.create_on == ["n1"]
    ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = "50%"  # of 3: 2
    plan = plan_daemon_set(ds, NODES, old, NOW)
    assert plan.delete == old[:2] and plan.create_on == ["n1", "n2"]
    # A new pod not yet available counts against the budget; an unavailable old pod may
    # always go.
    fresh = pod("f1", template_hash(ds["spec"]["template"]), ready=False, on="n1")
    broken = pod("o3", "stale", ready=False, on="n3")
    plan = plan_daemon_set(ds, NODES, [fresh, old[1], broken], NOW)
    assert plan.delete == [broken, old[1]] and plan.create_on == ["n2", "n3"]
    ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = 1
    plan = plan_daemon_set(ds, NODES, [fresh, old[1], broken], NOW)
    assert plan.delete == [broken] and plan.create_on == ["n3"]
    assert plan.status["updatedNumberScheduled"] == 2


def test_surge_starts_new_pods_beside_old_ones_on_max_surge_nodes() -> None:
    ds = daemon_set()
    ds["spec"]["updateStrategy"]["rollingUpdate"] = {"maxUnavailable": 0, "maxSurge": 2}
    old = [pod(f"o{i}", "stale", on=f"n{i}") for i in (1, 2, 3)]
    plan = plan_daemon_set(ds, NODES, old, NOW)
    assert plan.delete == [] and plan.create_on == ["n1", "n2"]
    current = template_hash(ds["spec"]["template"])
    new1 = pod("f1", current, on="n1")
    waiting = pod("f2", current, ready=False, on="n2")
    plan = plan_daemon_set(ds, NODES, [*old, new1, waiting], NOW)
    assert plan.delete == [old[0]] and plan.create_on == ["n3"]  # n1 is done: n3 may begin
