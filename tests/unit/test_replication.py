"""controllers.replication: planning an RC's pods, naming them, ranking surplus pods."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from podctl.api import meta
from podctl.controllers.replication import (
    concerns,
    deletion_rank,
    generate_name,
    plan_rc,
    pod_from_template,
    rc_status,
)

RC: dict[str, Any] = {
    "kind": "ReplicationController",
    "metadata": {"name": "kubia", "namespace": "default", "uid": "rc-1", "generation": 2},
    "spec": {"replicas": 3, "selector": {"app": "kubia"},
             "template": {"metadata": {"labels": {"app": "kubia"}},
                          "spec": {"containers": [{"name": "k", "image": "i"}]}}},
}

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def pod(name: str, labels: dict[str, str] | None = None, owner: str | None = None,
        phase: str = "Running", ready: bool = True, created: str = "2026-01-01T00:00:00Z",
        restarts: int = 0, deleting: bool = False) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"u-{name}",
                          "labels": labels if labels is not None else {"app": "kubia"},
                          "creationTimestamp": created}
    if owner:
        md["ownerReferences"] = [{"kind": "ReplicationController", "uid": owner,
                                  "controller": True, "name": "kubia"}]
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": md, "spec": {"nodeName": "n"},
            "status": {"phase": phase,
                       "conditions": [{"type": "Ready", "status": str(ready),
                                       "lastTransitionTime": created}],
                       "containerStatuses": [{"restartCount": restarts}]}}


def test_too_few_pods_plans_creations() -> None:
    plan = plan_rc(RC, [pod("a", owner="rc-1")], NOW)
    assert plan.create == 2 and not plan.delete


def test_orphans_are_adopted_and_counted() -> None:
    plan = plan_rc(RC, [pod("a"), pod("b"), pod("c", labels={"app": "other"})], NOW)
    assert [p["metadata"]["name"] for p in plan.adopt] == ["a", "b"]
    assert plan.create == 1


def test_owned_pods_that_stop_matching_are_released() -> None:
    plan = plan_rc(RC, [pod("a", labels={"app": "foo"}, owner="rc-1")], NOW)
    assert [p["metadata"]["name"] for p in plan.release] == ["a"] and plan.create == 3


def test_finished_and_deleting_pods_do_not_count() -> None:
    pods = [pod("a", owner="rc-1", phase="Succeeded"), pod("b", owner="rc-1", deleting=True),
            pod("c", owner="rc-1")]
    assert plan_rc(RC, pods, NOW).create == 2


def test_pods_of_another_controller_are_left_alone() -> None:
    plan = plan_rc(RC, [pod("a", owner="rc-2")], NOW)
    assert not plan.adopt and plan.create == 3


def test_an_rc_concerns_its_own_pods_and_the_orphans_it_selects() -> None:
    pods = [pod("own", owner="rc-1"), pod("own-unmatched", labels={}, owner="rc-1"),
            pod("orphan"), pod("orphan-other", labels={"app": "other"}),
            pod("other-rcs", owner="rc-2")]
    assert [p["metadata"]["name"] for p in pods if concerns(RC, p)] == [
        "own", "own-unmatched", "orphan"]


def test_surplus_deletes_pending_then_unready_then_newest() -> None:
    pods = [pod("old-ready", owner="rc-1"),
            pod("new-ready", owner="rc-1", created="2026-01-02T00:00:00Z"),
            pod("unready", owner="rc-1", ready=False),
            pod("pending", owner="rc-1", phase="Pending", ready=False),
            pod("crashy", owner="rc-1", restarts=5)]
    rc = {**RC, "spec": {**RC["spec"], "replicas": 1}}
    deleted = [p["metadata"]["name"] for p in plan_rc(rc, pods, NOW).delete]
    assert deleted == ["pending", "unready", "crashy", "new-ready"]


def test_deletion_rank_prefers_unscheduled() -> None:
    unscheduled = pod("u", owner="rc-1")
    unscheduled["spec"] = {}
    assert deletion_rank(unscheduled, NOW) < deletion_rank(pod("s", owner="rc-1"), NOW)


def test_generated_names_use_kubernetes_alphabet() -> None:
    name = generate_name("kubia", set(), random.Random(1))
    assert name.startswith("kubia-") and len(name) == 11
    assert set(name[6:]) <= set(meta.NAME_ALPHABET)
    long = generate_name("x" * 70, set())  # generateName "xxx...-" is cut to 58 characters
    assert long.startswith("x" * 58) and len(long) == 63


def test_pod_from_template_is_owned() -> None:
    made = pod_from_template(RC, "kubia-abcde")
    assert made["metadata"]["labels"] == {"app": "kubia"}
    ref = made["metadata"]["ownerReferences"][0]
    assert ref == {"apiVersion": "v1", "blockOwnerDeletion": True, "controller": True,
                   "kind": "ReplicationController", "name": "kubia", "uid": "rc-1"}
    assert made["spec"] == RC["spec"]["template"]["spec"]


def test_status_counts() -> None:
    pods = [pod("a", owner="rc-1"), pod("b", owner="rc-1", ready=False),
            pod("c", owner="rc-1", labels={"app": "kubia", "extra": "1"})]
    assert rc_status(RC, pods, NOW) == {
        "availableReplicas": 2, "fullyLabeledReplicas": 3, "observedGeneration": 2,
        "readyReplicas": 2, "replicas": 3}


def test_planned_status_counts_new_pods_as_labelled_and_not_ready() -> None:
    plan = plan_rc(RC, [pod("a", owner="rc-1")], NOW)
    assert plan.create == 2
    assert plan.status == {"availableReplicas": 1, "fullyLabeledReplicas": 3,
                           "observedGeneration": 2, "readyReplicas": 1, "replicas": 3}


def test_planned_status_leaves_out_the_pods_it_deletes() -> None:
    rc = {**RC, "spec": {**RC["spec"], "replicas": 1}}
    plan = plan_rc(rc, [pod("a", owner="rc-1"), pod("b", owner="rc-1", ready=False)], NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["b"]
    assert plan.status["replicas"] == 1 and plan.status["readyReplicas"] == 1


def test_min_ready_seconds_is_measured_from_now() -> None:
    rc = {**RC, "spec": {**RC["spec"], "minReadySeconds": 3600}}
    ready_long = pod("a", owner="rc-1")  # ready since 2026-01-01, months before NOW
    assert rc_status(rc, [ready_long], NOW)["availableReplicas"] == 1
    assert rc_status(rc, [ready_long], datetime(2026, 1, 1, 0, 30, tzinfo=UTC))[
        "availableReplicas"] == 0


RS: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {"name": "web", "namespace": "default", "uid": "rs-1", "generation": 1},
    "spec": {"replicas": 2,
             "selector": {"matchLabels": {"app": "kubia"},
                          "matchExpressions": [
                              {"key": "tier", "operator": "In", "values": ["web", "api"]},
                              {"key": "canary", "operator": "DoesNotExist"}]},
             "template": {"metadata": {"labels": {"app": "kubia", "tier": "web"}},
                          "spec": {"containers": [{"name": "k", "image": "i"}]}}},
}


def test_replica_set_adopts_what_its_expressions_select() -> None:
    pods = [pod("web", labels={"app": "kubia", "tier": "web"}),
            pod("db", labels={"app": "kubia", "tier": "db"}),
            pod("canary", labels={"app": "kubia", "tier": "api", "canary": "yes"}),
            pod("bare", labels={"app": "kubia"})]
    plan = plan_rc(RS, pods, NOW)
    assert [p["metadata"]["name"] for p in plan.adopt] == ["web"]
    assert plan.create == 1


def test_replica_set_releases_a_pod_that_gains_an_excluded_label() -> None:
    owned = pod("a", labels={"app": "kubia", "tier": "web", "canary": "1"}, owner="rs-1")
    plan = plan_rc(RS, [owned], NOW)
    assert plan.release == [owned] and plan.create == 2


def test_replica_set_pods_are_owned_by_an_apps_v1_replica_set() -> None:
    made = pod_from_template(RS, "web-abcde")
    assert made["metadata"]["ownerReferences"] == [
        {"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
         "kind": "ReplicaSet", "name": "web", "uid": "rs-1"}]
    assert made["metadata"]["labels"] == {"app": "kubia", "tier": "web"}


def test_replica_set_surplus_goes_not_ready_first() -> None:
    pods = [pod("a", labels={"app": "kubia", "tier": "web"}, owner="rs-1"),
            pod("b", labels={"app": "kubia", "tier": "api"}, owner="rs-1", ready=False),
            pod("c", labels={"app": "kubia", "tier": "web"}, owner="rs-1")]
    plan = plan_rc(RS, pods, NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["b"]
    assert plan.status["replicas"] == 2 and plan.status["readyReplicas"] == 2
