"""PodDisruptionBudgets: the disruption controller's status (a pure plan over pods and their
controllers' scale), the eviction spending a budget, and drain trying a refused eviction
again — against upstream's pkg/controller/disruption and the eviction REST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.apiserver.status import from_error
from podctl.controllers import disruption
from podctl.controllers.disruption import Observed, plan_status, sync_pdb
from podctl.controllers.eviction import evict
from podctl.errors import TooManyRequests, UnreasonedFailure
from podctl.ops import drain
from podctl.ops.drain import DrainFlags, DrainRequest, NodeNotDrained
from podctl.store import Store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def pdb(name: str = "web", generation: int = 1, status: Obj | None = None,
        **spec: Any) -> Obj:
    spec.setdefault("selector", {"matchLabels": {"app": "web"}})
    obj: Obj = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": name, "namespace": "default", "generation": generation},
                "spec": spec}
    if status is not None:
        obj["status"] = status
    return obj


def pod(name: str, ready: bool = True, owner: tuple[str, str] | None = ("ReplicaSet", "rs-u"),
        phase: str = "Running", labels: dict[str, str] | None = None, **md: Any) -> Obj:
    metadata: Obj = {"name": name, "namespace": "default",
                     "labels": {"app": "web"} if labels is None else labels, **md}
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0],
                                        "name": "rs", "uid": owner[1], "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"nodeName": "node", "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def condition(status: Obj) -> tuple[str, str, str]:
    (only,) = status["conditions"]
    return only["type"], only["status"], only["reason"]


# -- the controller's plan -------------------------------------------------------------------


def test_min_available_integer_counts_the_selected_pods() -> None:
    pods = [pod("a"), pod("b"), pod("c", ready=False)]
    plan = plan_status(pdb(minAvailable=1), Observed(pods, {}), NOW)
    status = plan.status
    assert (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"],
            status["disruptionsAllowed"], status["observedGeneration"]) == (3, 1, 2, 1, 1)
    assert condition(status) == ("DisruptionAllowed", "True", "SufficientPods")
    assert plan.events == ()
    none_left = plan_status(pdb(minAvailable=2), Observed(pods, {}), NOW).status
    assert none_left["disruptionsAllowed"] == 0
    assert condition(none_left) == ("DisruptionAllowed", "False", "InsufficientPods")


def test_percentages_and_max_unavailable_take_the_controllers_scale() -> None:
    pods = [pod("a"), pod("b"), pod("c")]
    # The ReplicaSet wants 4 (one pod not made yet): 50% of 4 rounds up to 2.
    observed = Observed(pods, {"rs-u": 4})
    status = plan_status(pdb(minAvailable="50%"), observed, NOW).status
    assert (status["expectedPods"], status["desiredHealthy"],
            status["disruptionsAllowed"]) == (4, 2, 1)
    # maxUnavailable 1 of 4: 3 must stay healthy, and only 3 are.
    status = plan_status(pdb(maxUnavailable=1), observed, NOW).status
    assert (status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 0)
    # 30% of 4 is 1.2, rounded up: 2 may be unavailable.
    status = plan_status(pdb(maxUnavailable="30%"), observed, NOW).status
    assert (status["desiredHealthy"], status["disruptionsAllowed"]) == (2, 1)


def test_a_pod_without_a_scaled_controller_fails_safe() -> None:
    pods = [pod("a", owner=("DaemonSet", "ds-u")), pod("b")]
    old = {"disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1,
           "expectedPods": 2}
    plan = plan_status(pdb(maxUnavailable=1, status=old), Observed(pods, {"ds-u": None,
                                                                          "rs-u": 2}), NOW)
    assert plan.status["disruptionsAllowed"] == 0
    (cond,) = plan.status["conditions"]
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False", "SyncFailed", 'found no controllers for pod "a"')
    assert plan.events == (("Warning", "CalculateExpectedPodCountFailed",
                            "Failed to calculate the number of expected pods: found no "
                            'controllers for pod "a"'),)


def test_unmanaged_pods_are_left_out_of_a_percentage_with_a_warning() -> None:
    pods = [pod("a"), pod("bare", owner=None)]
    plan = plan_status(pdb(minAvailable="100%"), Observed(pods, {"rs-u": 1}), NOW)
    assert (plan.status["expectedPods"], plan.status["currentHealthy"]) == (1, 2)
    assert [e[1] for e in plan.events] == ["UnmanagedPods"]
    assert "(selector: &LabelSelector{MatchLabels:map[string]string{app: web,}," \
           "MatchExpressions:[]LabelSelectorRequirement{},})" in plan.events[0][2]


def test_no_pods_allow_nothing_and_say_so() -> None:
    plan = plan_status(pdb(minAvailable=0), Observed([], {}), NOW)
    assert plan.status["disruptionsAllowed"] == 0
    assert plan.events == (("Normal", "NoPods", "No matching pods found"),)


def test_disrupted_pods_count_as_gone_until_deleted_or_timed_out() -> None:
    recent = meta.format_time(NOW - timedelta(seconds=30))
    stale = meta.format_time(NOW - timedelta(minutes=3))
    pods = [pod("a"), pod("b"), pod("c"), pod("d", deletionTimestamp=recent)]
    old = {"disruptedPods": {"a": recent, "b": stale, "d": recent, "gone": recent}}
    plan = plan_status(pdb(minAvailable=1, status=old), Observed(pods, {}), NOW)
    assert plan.status["disruptedPods"] == {"a": recent}
    assert plan.status["currentHealthy"] == 2  # b and c: a is on its way, d is deleting
    assert plan.recheck_at == NOW + timedelta(seconds=90)


def test_selector_null_matches_nothing_and_empty_everything() -> None:
    assert not disruption.selects(pdb(selector=None), pod("a"))
    assert disruption.selects(pdb(selector={}), pod("a", labels={}))
    assert not disruption.selects(pdb(), pod("a", labels={"app": "db"}))


# -- the eviction ----------------------------------------------------------------------------


def stored(store: Store, obj: Obj) -> Obj:
    return store.create(meta.clone(obj))


def synced(store: Store, obj: Obj) -> Obj:
    stored(store, obj)
    sync_pdb(store, "default", meta.name_of(obj), NOW)
    return store.get("PodDisruptionBudget", "default", meta.name_of(obj))


def test_eviction_spends_the_budget_then_is_refused_with_upstreams_cause(
        node_store: Store) -> None:
    for name in ("a", "b", "c"):
        stored(node_store, pod(name))
    assert synced(node_store, pdb(minAvailable=2))["status"]["disruptionsAllowed"] == 1
    evict(node_store, "default", "a")
    assert node_store.get("Pod", "default", "a")["metadata"]["deletionTimestamp"]
    spent = node_store.get("PodDisruptionBudget", "default", "web")["status"]
    assert spent["disruptionsAllowed"] == 0 and set(spent["disruptedPods"]) == {"a"}
    assert condition(spent) == ("DisruptionAllowed", "False", "InsufficientPods")
    sync_pdb(node_store, "default", "web", NOW)  # the controller sees a's deletion
    with pytest.raises(TooManyRequests) as refused:
        evict(node_store, "default", "b")
    assert str(refused.value) == "Cannot evict pod as it would violate the pod's " \
                                 "disruption budget."
    status = from_error(refused.value).status()
    assert (status["code"], status["reason"]) == (429, "TooManyRequests")
    assert status["details"]["causes"] == [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]
    assert not node_store.get("Pod", "default", "b")["metadata"].get("deletionTimestamp")


def test_pods_the_budget_does_not_hold(node_store: Store) -> None:
    stored(node_store, pod("pending", phase="Pending", ready=False))
    stored(node_store, pod("sick", ready=False))
    stored(node_store, pod("ok"))
    stored(node_store, pod("ok2"))
    # 2 healthy, 1 wanted: the unready pod goes without spending the budget.
    assert synced(node_store, pdb(minAvailable=1))["status"]["disruptionsAllowed"] == 1
    evict(node_store, "default", "pending")
    evict(node_store, "default", "sick")
    assert node_store.get("PodDisruptionBudget", "default",
                          "web")["status"]["disruptionsAllowed"] == 1
    # Another budget over the same pods: the eviction cannot say which to spend.
    synced(node_store, pdb("other", minAvailable=0))
    with pytest.raises(UnreasonedFailure) as two:
        evict(node_store, "default", "ok")
    assert two.value.render() == "Error from server: This pod has more than one " \
                                 "PodDisruptionBudget, which the eviction subresource does " \
                                 "not support."
    assert from_error(two.value).code == 500


def test_a_budget_not_yet_counted_asks_the_client_to_wait(node_store: Store) -> None:
    stored(node_store, pod("a"))
    stored(node_store, pdb(generation=2, minAvailable=0,
                           status={"observedGeneration": 1, "disruptionsAllowed": 1}))
    with pytest.raises(TooManyRequests) as refused:
        evict(node_store, "default", "a")
    error = from_error(refused.value)
    assert error.status()["details"]["causes"][0]["message"] == \
        "The disruption budget web is still being processed by the server."
    assert error.headers() == {"Retry-After": "10"}


# -- drain -----------------------------------------------------------------------------------


def test_drain_retries_an_eviction_the_budget_refuses_until_its_timeout(
        node_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drain, "follow_up", lambda store, *keys: None)
    stored(node_store, pod("a"))
    synced(node_store, pdb(minAvailable=1))
    lines: list[tuple[str, str]] = []
    with pytest.raises(NodeNotDrained) as failed:
        for line in drain.drain_nodes(node_store, drain.nodes_named(node_store, ["node"],
                                                                    None),
                                      DrainRequest(DrainFlags(), timeout=0.3),
                                      lambda pods: None):
            lines.append(line)
    assert lines[:3] == [
        ("out", "node/node cordoned"), ("out", "evicting pod default/a"),
        ("err", 'error when evicting pods/"a" -n "default" (will retry after 5s): Cannot '
                "evict pod as it would violate the pod's disruption budget.")]
    assert failed.value.errors == [
        'error when evicting pods/"a" -n "default": global timeout reached: 300ms']
    assert not node_store.get("Pod", "default", "a")["metadata"].get("deletionTimestamp")
