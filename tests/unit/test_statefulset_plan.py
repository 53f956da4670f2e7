"""The StatefulSet controller's pure parts: pod identity, ordered and parallel management,
rolling updates within the partition and maxUnavailable, status, history trimming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podctl.api import meta
from podctl.controllers import history
from podctl.controllers.statefulset import (
    POD_INDEX_LABEL,
    POD_NAME_LABEL,
    REVISION_LABEL,
    Revs,
    claim_owner_refs,
    new_claims,
    new_pod,
    ordinal_of,
    plan_stateful_set,
)
from podctl.errors import PodctlError
from podctl.ops.revisions import stateful_set_status_line

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REVS = Revs("web-old", "web-new")
SAME = Revs("web-new", "web-new")


def sts(replicas: int = 3, policy: str = "OrderedReady", **strategy: Any) -> dict[str, Any]:
    return {"kind": "StatefulSet", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "namespace": "default", "uid": "u1",
                         "generation": 2},
            "spec": {"replicas": replicas, "serviceName": "nginx",
                     "podManagementPolicy": policy,
                     "selector": {"matchLabels": {"app": "web"}},
                     "updateStrategy": strategy or {"type": "RollingUpdate",
                                                    "rollingUpdate": {"partition": 0,
                                                                      "maxUnavailable": 1}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www"}}]}}


def pod(ordinal: int, revision: str = "web-new", ready: bool = True, phase: str = "Running",
        deleting: bool = False, ready_for: float = 3600) -> dict[str, Any]:
    since = meta.format_time(NOW - timedelta(seconds=ready_for))
    md: dict[str, Any] = {"name": f"web-{ordinal}", "namespace": "default",
                          "labels": {"app": "web", REVISION_LABEL: revision},
                          "ownerReferences": [{"controller": True, "uid": "u1"}]}
    if deleting:
        md["deletionTimestamp"] = meta.format_time(NOW)
    return {"kind": "Pod", "metadata": md, "spec": {},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": since}]}}


def created(plan: Any) -> list[int]:
    return [slot.ordinal for slot in plan.create]


def deleted(plan: Any) -> list[str]:
    return [p["metadata"]["name"] for p in plan.delete]


def test_a_pod_has_the_sets_identity_and_a_claim_per_template() -> None:
    made = new_pod(sts(), sts()["spec"]["template"], "web-new", 2)
    assert made["metadata"]["name"] == "web-2"
    assert made["metadata"]["labels"] == {"app": "web", POD_NAME_LABEL: "web-2",
                                          POD_INDEX_LABEL: "2", REVISION_LABEL: "web-new"}
    assert (made["spec"]["hostname"], made["spec"]["subdomain"]) == ("web-2", "nginx")
    assert made["spec"]["volumes"] == [{"name": "www",
                                        "persistentVolumeClaim": {"claimName": "www-web-2"}}]
    assert made["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"


def test_ordinals_come_only_from_names_of_the_set() -> None:
    owner = sts()
    assert [ordinal_of(owner, {"metadata": {"name": n}})
            for n in ("web-0", "web-12", "web-01", "web-x", "webby-1", "web-")] == \
        [0, 12, None, None, None, None]


def test_ordered_ready_makes_one_pod_at_a_time_after_the_previous_is_ready() -> None:
    assert created(plan_stateful_set(sts(), [], SAME, NOW)) == [0]
    assert created(plan_stateful_set(sts(), [pod(0, ready=False)], SAME, NOW)) == []
    assert created(plan_stateful_set(sts(), [pod(0, phase="Pending", ready=False)], SAME,
                                     NOW)) == []
    assert created(plan_stateful_set(sts(), [pod(0)], SAME, NOW)) == [1]
    assert created(plan_stateful_set(sts(), [pod(0), pod(1)], SAME, NOW)) == [2]


def test_min_ready_seconds_hold_the_next_pod_back() -> None:
    owner = sts()
    owner["spec"]["minReadySeconds"] = 10
    assert created(plan_stateful_set(owner, [pod(0, ready_for=3)], SAME, NOW)) == []
    assert created(plan_stateful_set(owner, [pod(0, ready_for=11)], SAME, NOW)) == [1]


def test_a_deleted_pod_is_made_again_with_its_name_once_it_is_gone() -> None:
    pods = [pod(0), pod(1, deleting=True), pod(2)]
    assert created(plan_stateful_set(sts(), pods, SAME, NOW)) == []
    assert created(plan_stateful_set(sts(), [pod(0), pod(2)], SAME, NOW)) == [1]


def test_parallel_makes_every_missing_pod_at_once() -> None:
    plan = plan_stateful_set(sts(4, "Parallel"), [pod(1, ready=False)], SAME, NOW)
    assert created(plan) == [0, 2, 3]


def test_scale_down_removes_the_highest_ordinal_first_one_at_a_time() -> None:
    pods = [pod(i) for i in range(4)]
    assert deleted(plan_stateful_set(sts(1), pods, SAME, NOW)) == ["web-3"]
    pods[3] = pod(3, deleting=True)
    assert deleted(plan_stateful_set(sts(1), pods, SAME, NOW)) == []
    assert deleted(plan_stateful_set(sts(1, "Parallel"), [pod(i) for i in range(4)], SAME,
                                     NOW)) == ["web-3", "web-2", "web-1"]


def test_a_failed_pod_is_deleted_to_be_made_again() -> None:
    plan = plan_stateful_set(sts(2), [pod(0, phase="Failed", ready=False), pod(1)], SAME, NOW)
    assert (deleted(plan), created(plan)) == (["web-0"], [])


def test_rolling_update_goes_down_from_the_highest_ordinal_one_at_a_time() -> None:
    pods = [pod(i, "web-old") for i in range(3)]
    assert deleted(plan_stateful_set(sts(), pods, REVS, NOW)) == ["web-2"]
    pods[2] = pod(2, "web-new", ready=False)
    assert deleted(plan_stateful_set(sts(), pods, REVS, NOW)) == []
    pods[2] = pod(2, "web-new")
    assert deleted(plan_stateful_set(sts(), pods, REVS, NOW)) == ["web-1"]


def test_the_partition_keeps_lower_ordinals_at_the_current_revision() -> None:
    owner = sts(type="RollingUpdate", rollingUpdate={"partition": 2, "maxUnavailable": 1})
    pods = [pod(0, "web-old"), pod(1, "web-old"), pod(2, "web-new")]
    assert deleted(plan_stateful_set(owner, pods, REVS, NOW)) == []
    plan = plan_stateful_set(owner, [pod(0, "web-old")], REVS, NOW)
    assert [(s.ordinal, s.revision) for s in plan.create] == [(1, "web-old")]
    plan = plan_stateful_set(owner, [pod(0, "web-old"), pod(1, "web-old")], REVS, NOW)
    assert [(s.ordinal, s.revision) for s in plan.create] == [(2, "web-new")]


def test_max_unavailable_replaces_several_pods_at_once() -> None:
    owner = sts(5, "Parallel", type="RollingUpdate",
                rollingUpdate={"partition": 0, "maxUnavailable": "40%"})
    pods = [pod(i, "web-old") for i in range(5)]
    assert deleted(plan_stateful_set(owner, pods, REVS, NOW)) == ["web-4", "web-3"]
    pods[4] = pod(4, "web-new", ready=False)
    assert deleted(plan_stateful_set(owner, pods, REVS, NOW)) == ["web-3"]


def test_on_delete_replaces_nothing() -> None:
    owner = sts(type="OnDelete")
    pods = [pod(i, "web-old") for i in range(3)]
    assert deleted(plan_stateful_set(owner, pods, REVS, NOW)) == []
    assert [(s.ordinal, s.revision) for s in plan_stateful_set(
        owner, pods[:2], REVS, NOW).create] == [(2, "web-new")]


def test_status_counts_revisions_and_completes_a_rollout() -> None:
    status = plan_stateful_set(sts(), [pod(0, "web-old"), pod(1), pod(2, ready=False)],
                               REVS, NOW).status
    assert status == {"availableReplicas": 2, "collisionCount": 0, "currentReplicas": 1,
                      "currentRevision": "web-old", "observedGeneration": 2,
                      "readyReplicas": 2, "replicas": 3, "updateRevision": "web-new",
                      "updatedReplicas": 2}
    status = plan_stateful_set(sts(), [pod(i) for i in range(3)], REVS, NOW).status
    assert (status["currentRevision"], status["currentReplicas"]) == ("web-new", 3)


def test_without_manage_only_the_status() -> None:
    plan = plan_stateful_set(sts(), [], SAME, NOW, manage=False)
    assert (plan.create, plan.delete, plan.status["replicas"]) == ([], [], 0)


def test_revisions_keep_the_template_and_trim_the_unused_oldest() -> None:
    owner = sts()
    template = owner["spec"]["template"]
    revision = history.new_revision(owner, template, 3, 0)
    assert history.template_of(revision) == template
    assert revision["metadata"]["labels"][history.HASH_LABEL] == \
        revision["metadata"]["name"].rsplit("-", 1)[1]
    assert history.new_revision(owner, template, 3, 1)["metadata"]["name"] != \
        revision["metadata"]["name"]
    revs = [{"metadata": {"name": f"r{i}"}, "revision": i} for i in range(1, 6)]
    assert [r["metadata"]["name"] for r in history.surplus(revs, {"r1", "r5"}, 2)] == \
        ["r2"]


def test_claims_are_named_for_the_ordinal_and_labelled_with_the_selector() -> None:
    owner = sts()
    owner["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "www", "labels": {"t": "1"}},
                                              "spec": {"accessModes": ["ReadWriteOnce"]}}]
    [claim] = new_claims(owner, 1)
    assert claim["metadata"]["name"] == "www-web-1"
    assert claim["metadata"]["labels"] == {"t": "1", "app": "web"}
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"]}


def refs_of(owner: dict[str, Any], ordinal: int, with_pod: bool) -> list[str]:
    claim = {"metadata": {"name": f"www-web-{ordinal}",
                          "ownerReferences": [{"kind": "Other", "uid": "o"}]}}
    pod_obj = {"kind": "Pod", "metadata": {"name": f"web-{ordinal}", "uid": f"p{ordinal}"}}
    return [r["kind"] for r in claim_owner_refs(owner, claim, pod_obj if with_pod else None)]


def test_the_retention_policy_decides_the_claims_owners() -> None:
    owner = sts(2)
    assert refs_of(owner, 0, True) == ["Other"]  # Retain, Retain
    owner["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Delete",
                                                             "whenScaled": "Retain"}
    assert refs_of(owner, 0, True) == ["Other", "StatefulSet"]
    assert refs_of(owner, 5, True) == ["Other", "StatefulSet"]
    owner["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Retain",
                                                             "whenScaled": "Delete"}
    assert refs_of(owner, 0, True) == ["Other"]
    assert refs_of(owner, 5, True) == ["Other", "Pod"]
    owner["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Delete",
                                                             "whenScaled": "Delete"}
    assert refs_of(owner, 1, True) == ["Other", "StatefulSet"]
    assert refs_of(owner, 2, True) == ["Other", "Pod"]


def test_rollout_status_lines_are_kubectls() -> None:
    owner = sts(3)
    owner["metadata"]["generation"] = 2
    owner["status"] = {"observedGeneration": 1}
    assert stateful_set_status_line(owner) == (
        "Waiting for statefulset spec update to be observed...", False)
    owner["status"] = {"observedGeneration": 2, "readyReplicas": 1, "updatedReplicas": 1}
    assert stateful_set_status_line(owner) == ("Waiting for 2 pods to be ready...", False)
    owner["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1
    owner["status"].update(readyReplicas=3)
    assert stateful_set_status_line(owner) == (
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been "
        "updated...", False)
    owner["status"].update(updatedReplicas=2)
    assert stateful_set_status_line(owner) == (
        "partitioned roll out complete: 2 new pods have been updated...", True)
    del owner["spec"]["updateStrategy"]["rollingUpdate"]
    owner["status"].update(currentRevision="web-a", updateRevision="web-b")
    assert stateful_set_status_line(owner) == (
        "waiting for statefulset rolling update to complete 2 pods at revision web-b...",
        False)
    owner["status"].update(currentRevision="web-b", currentReplicas=3)
    assert stateful_set_status_line(owner) == (
        "statefulset rolling update complete 3 pods at revision web-b...", True)
    owner["spec"]["updateStrategy"] = {"type": "OnDelete"}
    with pytest.raises(PodctlError, match="only available for RollingUpdate strategy type"):
        stateful_set_status_line(owner)


def test_describe_is_kubectls() -> None:
    """The layout kubectl 1.37 printed for the same object (its events aside)."""
    from podctl.manifest.defaults import default_object
    from podctl.printers.statefulsets import describe_stateful_set

    owner = sts(3)
    owner["spec"].update(volumeClaimTemplates=[{"metadata": {"name": "www"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}])
    del owner["spec"]["podManagementPolicy"]
    owner["spec"]["template"]["spec"]["containers"][0].update(
        name="main", image="podctl/busybox:1", command=["sleep", "3600"],
        volumeMounts=[{"name": "www", "mountPath": "/data"}])
    owner = default_object("StatefulSet", owner, "default")
    owner["metadata"].update(creationTimestamp="2026-12-06T14:44:06Z", annotations={
        "kubectl.kubernetes.io/last-applied-configuration": "{}"})
    owner["status"] = {"replicas": 3}
    pods = [pod(i) for i in range(3)]
    assert describe_stateful_set(owner, pods, [], NOW) == """\
Name:                   web
Namespace:              default
CreationTimestamp:      Sun, 06 Dec 2026 14:44:06 +0000
Selector:               app=web
Labels:                 <none>
Annotations:            <none>
Service Name:           nginx
Pod Management Policy:  OrderedReady
Replicas:               3 desired | 3 total
Update Strategy:        RollingUpdate
  Partition:            0
  MaxUnavailable:       1
Persistent Volume Claim Retention Policy:
  WhenDeleted:  Retain
  WhenScaled:   Retain
Pods Status:    3 Running / 0 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=web
  Containers:
   main:
    Image:      podctl/busybox:1
    Port:       <none>
    Host Port:  <none>
    Command:
      sleep
      3600
    Environment:  <none>
    Mounts:
      /data from www (rw)
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Volume Claims:
  Name:          www
  StorageClass:  <empty>
  Labels:        <none>
  Annotations:   <none>
  Capacity:      1Gi
  Access Modes:  [ReadWriteOnce]
Events:  <none>
""".replace("<empty>", "")  # kubectl's empty class leaves trailing spaces


def test_a_huge_replica_count_costs_only_one_burst() -> None:
    plan = plan_stateful_set(sts(2**31 - 1, "Parallel"), [pod(0)], SAME, NOW)
    assert len(plan.create) == 500 and plan.create[-1].ordinal == 500
    assert created(plan_stateful_set(sts(2**31 - 1), [pod(0)], SAME, NOW)) == [1]
    rolled = plan_stateful_set(sts(2**31 - 1), [pod(0, "web-old")], REVS, NOW)
    assert (created(rolled), deleted(rolled)) == ([1], [])


def test_orphans_named_for_the_set_are_adopted_and_unmatched_pods_released() -> None:
    owned = pod(0)
    owned["metadata"]["ownerReferences"] = [{"controller": True, "uid": "u1"}]
    orphan = pod(1)
    del orphan["metadata"]["ownerReferences"]
    stranger = pod(2)
    stranger["metadata"]["name"] = "other-2"
    unmatched = pod(2)
    unmatched["metadata"].update(labels={"app": "else"},
                                 ownerReferences=[{"controller": True, "uid": "u1"}])
    plan = plan_stateful_set(sts(), [owned, orphan, stranger, unmatched], SAME, NOW)
    assert [p["metadata"]["name"] for p in plan.adopt] == ["web-1"]
    assert [p["metadata"]["name"] for p in plan.release] == ["web-2"]
    assert created(plan) == [2]


def test_a_pass_asks_to_look_again_when_a_pod_becomes_available() -> None:
    owner = sts()
    owner["spec"]["minReadySeconds"] = 10
    plan = plan_stateful_set(owner, [pod(0, ready_for=3)], SAME, NOW)
    assert plan.recheck == 7
    assert plan_stateful_set(owner, [pod(0, ready_for=30)], SAME, NOW).recheck is None


def test_an_update_may_change_only_upstreams_mutable_fields() -> None:
    from podctl.errors import Invalid
    from podctl.manifest.update import merged

    old = sts()
    new = sts(5)
    new["spec"]["revisionHistoryLimit"] = 3
    assert merged(old, new)["spec"]["replicas"] == 5
    new["spec"]["serviceName"] = "other"
    with pytest.raises(Invalid) as caught:
        merged(old, new)
    assert str(caught.value) == (
        'The StatefulSet "web" is invalid: spec: Forbidden: updates to statefulset spec for '
        "fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
        "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
        "'minReadySeconds' are forbidden")


def test_claim_owners_are_controller_references_unless_another_controls_it() -> None:
    owner = sts(1)
    owner["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Delete",
                                                             "whenScaled": "Delete"}
    claim = {"metadata": {"name": "www-web-0", "ownerReferences": [
        {"kind": "StatefulSet", "name": "web", "uid": "old-set"}]}}
    [ref] = claim_owner_refs(owner, claim, None)
    assert (ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == ("u1", True, True)
    claim["metadata"]["ownerReferences"] = [{"kind": "Thing", "name": "t", "uid": "t",
                                             "controller": True}]
    assert claim_owner_refs(owner, claim, None) == claim["metadata"]["ownerReferences"]


def test_max_unavailable_percent_rounds_down_to_one_at_least() -> None:
    owner = sts(5, "Parallel", type="RollingUpdate",
                rollingUpdate={"partition": 0, "maxUnavailable": "30%"})
    pods = [pod(i, "web-old") for i in range(5)]
    assert deleted(plan_stateful_set(owner, pods, REVS, NOW)) == ["web-4"]
    owner["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = "10%"
    assert deleted(plan_stateful_set(owner, pods, REVS, NOW)) == ["web-4"]


def test_a_rollout_is_complete_only_with_every_wanted_pod() -> None:
    status = plan_stateful_set(sts(3), [pod(0), pod(1)], REVS, NOW, manage=False).status
    assert status["currentRevision"] == "web-old"
