"""controllers.deployment: pod-template-hash, fenceposts, rollout steps, history, status."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from podctl.controllers.deployment import (
    HASH_LABEL,
    REVISION,
    SAFE_ALPHABET,
    fenceposts,
    plan_deployment,
    template_hash,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TEMPLATE: dict[str, Any] = {"metadata": {"labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "web", "image": "web:1"}]}}


def deployment(replicas: int = 3, image: str = "web:1", strategy: dict[str, Any] | None = None,
               history: int = 10) -> dict[str, Any]:
    template = copy.deepcopy(TEMPLATE)
    template["spec"]["containers"][0]["image"] = image
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "d-1", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": template, "revisionHistoryLimit": history,
                     "progressDeadlineSeconds": 600,
                     "strategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {
                         "maxSurge": "25%", "maxUnavailable": "25%"}}}}


def test_template_hash_is_stable_short_and_safe() -> None:
    first = template_hash(TEMPLATE)
    assert first == template_hash(copy.deepcopy(TEMPLATE))
    assert 1 <= len(first) <= 10 and set(first) <= set(SAFE_ALPHABET)
    assert template_hash(TEMPLATE, 1) != first
    other = copy.deepcopy(TEMPLATE)
    other["spec"]["containers"][0]["image"] = "web:2"
    assert template_hash(other) != first


@pytest.mark.parametrize(("replicas", "surge", "unavailable"),
                         [(1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 1, 1), (10, 3, 2)])
def test_default_fenceposts_round_surge_up_and_unavailable_down(
        replicas: int, surge: int, unavailable: int) -> None:
    assert fenceposts(deployment(replicas)) == (surge, unavailable)


def test_both_fenceposts_zero_means_one_unavailable() -> None:
    d = deployment(strategy={"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "10%"}})
    assert fenceposts(d) == (0, 1)


class Cluster:
    """ReplicaSets whose pods become available at once: each plan is applied, statuses
    follow spec, and the scaling events are collected."""

    def __init__(self) -> None:
        self.replica_sets: list[dict[str, Any]] = []
        self.events: list[str] = []
        self.serial = 0

    def sync(self, d: dict[str, Any]) -> bool:
        plan = plan_deployment(d, copy.deepcopy(self.replica_sets), NOW)
        self.events += plan.events
        changed = False
        if plan.create is not None:
            self.serial += 1
            rs = plan.create
            rs["metadata"].update(uid=f"rs-{self.serial}",
                                  creationTimestamp=f"2026-01-01T00:00:{self.serial:02d}Z")
            self.replica_sets.append(rs)
            changed = True
        for step in plan.scale:
            rs = next(r for r in self.replica_sets
                      if r["metadata"]["uid"] == step.rs["metadata"]["uid"])
            changed |= rs["spec"]["replicas"] != step.replicas
            rs["spec"]["replicas"] = step.replicas
            rs["metadata"]["annotations"].update(step.annotations)
        gone = {r["metadata"]["uid"] for r in plan.delete}
        changed |= bool(gone)
        self.replica_sets = [r for r in self.replica_sets if r["metadata"]["uid"] not in gone]
        for rs in self.replica_sets:
            n = rs["spec"]["replicas"]
            rs["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n,
                            "observedGeneration": 1}
        d["status"] = plan.status
        d["metadata"].setdefault("annotations", {})[REVISION] = plan.revision
        return changed

    def settle(self, d: dict[str, Any]) -> None:
        for _ in range(30):
            if not self.sync(d):
                return
        raise AssertionError("rollout never settled")


def test_first_rollout_creates_a_hashed_replica_set_with_every_replica() -> None:
    cluster, d = Cluster(), deployment()
    cluster.settle(d)
    [rs] = cluster.replica_sets
    digest = rs["metadata"]["labels"][HASH_LABEL]
    assert rs["metadata"]["name"] == f"web-{digest}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", HASH_LABEL: digest}
    assert rs["spec"]["template"]["metadata"]["labels"][HASH_LABEL] == digest
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs["metadata"]["annotations"][REVISION] == "1"
    assert cluster.events == [f"Scaled up replica set web-{digest} from 0 to 3"]
    conditions = {c["type"]: c["reason"] for c in d["status"]["conditions"]}
    assert conditions == {"Available": "MinimumReplicasAvailable",
                          "Progressing": "NewReplicaSetAvailable"}


def test_rolling_update_alternates_within_surge_and_unavailability() -> None:
    cluster, d = Cluster(), deployment()
    cluster.settle(d)
    old = cluster.replica_sets[0]["metadata"]["name"]
    cluster.events.clear()
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    cluster.settle(d)
    new = cluster.replica_sets[1]["metadata"]["name"]
    assert cluster.events == [
        f"Scaled up replica set {new} from 0 to 1", f"Scaled down replica set {old} from 3 to 2",
        f"Scaled up replica set {new} from 1 to 2", f"Scaled down replica set {old} from 2 to 1",
        f"Scaled up replica set {new} from 2 to 3", f"Scaled down replica set {old} from 1 to 0"]
    assert cluster.replica_sets[1]["metadata"]["annotations"][REVISION] == "2"
    assert d["status"]["updatedReplicas"] == 3 and d["status"]["replicas"] == 3


def test_reapplying_an_old_template_reuses_its_replica_set_with_a_new_revision() -> None:
    cluster, d = Cluster(), deployment()
    cluster.settle(d)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    cluster.settle(d)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:1"
    cluster.settle(d)
    assert len(cluster.replica_sets) == 2
    assert [r["spec"]["replicas"] for r in cluster.replica_sets] == [3, 0]
    assert d["metadata"]["annotations"][REVISION] == "3"
    reused = cluster.replica_sets[0]["metadata"]["annotations"]
    assert (reused[REVISION], reused["deployment.kubernetes.io/revision-history"]) == ("3", "1")


def test_recreate_stops_every_old_pod_before_the_new_replica_set() -> None:
    cluster = Cluster()
    d = deployment(strategy={"type": "Recreate"})
    cluster.settle(d)
    old = cluster.replica_sets[0]
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    plan = plan_deployment(d, copy.deepcopy(cluster.replica_sets), NOW)
    assert plan.create is None and [(s.rs["metadata"]["name"], s.replicas)
                                    for s in plan.scale] == [(old["metadata"]["name"], 0)]
    stopping = copy.deepcopy(cluster.replica_sets)
    stopping[0]["spec"]["replicas"] = 0  # its pods still run
    assert plan_deployment(d, stopping, NOW).create is None
    stopping[0]["status"]["replicas"] = 0
    created = plan_deployment(d, stopping, NOW).create
    assert created is not None and created["spec"]["replicas"] == 3


def test_old_empty_replica_sets_beyond_the_history_limit_are_deleted() -> None:
    cluster, d = Cluster(), deployment(history=1)
    for image in ("web:1", "web:2", "web:3"):
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image
        cluster.settle(d)
    revisions = sorted(r["metadata"]["annotations"][REVISION] for r in cluster.replica_sets)
    assert revisions == ["2", "3"]


def test_scaling_resizes_the_only_active_replica_set() -> None:
    cluster, d = Cluster(), deployment()
    cluster.settle(d)
    d["spec"]["replicas"] = 5
    cluster.settle(d)
    assert [r["spec"]["replicas"] for r in cluster.replica_sets] == [5]
    assert cluster.replica_sets[0]["metadata"]["annotations"][
        "deployment.kubernetes.io/desired-replicas"] == "5"


def test_a_paused_deployment_scales_but_does_not_roll_out_until_resumed() -> None:
    cluster, d = Cluster(), deployment()
    cluster.settle(d)
    d["spec"]["paused"] = True
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    d["spec"]["replicas"] = 4
    cluster.settle(d)
    assert [r["spec"]["replicas"] for r in cluster.replica_sets] == [4]
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")
    d["spec"]["paused"] = False
    cluster.settle(d)
    assert [r["spec"]["replicas"] for r in cluster.replica_sets] == [0, 4]
    assert d["metadata"]["annotations"][REVISION] == "2"


def test_scaling_mid_rollout_shares_the_new_size_proportionally() -> None:
    d = deployment(replicas=10, strategy={"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": 3, "maxUnavailable": 2}})
    sized = {"deployment.kubernetes.io/desired-replicas": "10",
             "deployment.kubernetes.io/max-replicas": "13"}

    def rs(name: str, image: str, replicas: int, created: str, revision: str) -> dict[str, Any]:
        template = copy.deepcopy(TEMPLATE)
        template["spec"]["containers"][0]["image"] = image
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": name, "namespace": "default", "uid": name,
                             "creationTimestamp": created,
                             "annotations": {**sized, REVISION: revision},
                             "ownerReferences": [{"controller": True, "uid": "d-1"}]},
                "spec": {"replicas": replicas, "template": template},
                "status": {"replicas": replicas, "availableReplicas": 0}}

    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    stuck = [rs("old", "web:1", 8, "2026-01-01T00:00:00Z", "1"),
             rs("new", "web:2", 5, "2026-01-02T00:00:00Z", "2")]
    d["spec"]["replicas"] = 15
    plan = plan_deployment(d, stuck, NOW)
    assert {s.rs["metadata"]["name"]: s.replicas for s in plan.scale} == {"old": 11, "new": 7}
    assert all(s.annotations["deployment.kubernetes.io/max-replicas"] == "18"
               for s in plan.scale)
