"""Storage's pure parts: the API server's rules for the three kinds, which volume a claim
binds, the scheduler's volume binding, and kubectl's columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from podctl.controllers import pvmatch
from podctl.controllers.scheduler import Cluster, schedule
from podctl.errors import Invalid
from podctl.manifest.storage_rules import (
    storage_update_errors,
    validate_persistent_volume,
    validate_storage_class,
)
from podctl.manifest.update import merged
from podctl.printers.storage import pv_row, pvc_row, sc_row

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CREATED = "2026-01-01T00:00:00Z"


def _volume(name: str, size: str, cls: str = "manual", **spec: Any) -> dict[str, Any]:
    return {"kind": "PersistentVolume", "metadata": {"name": name, "uid": f"u-{name}",
                                                     "creationTimestamp": CREATED},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": cls, "persistentVolumeReclaimPolicy": "Retain",
                     "hostPath": {"path": "/x"}, **spec},
            "status": {"phase": "Available"}}


def _claim(name: str, size: str, cls: str | None = "manual", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": size}}, **spec}
    if cls is not None:
        body["storageClassName"] = cls
    return {"kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}",
                         "creationTimestamp": CREATED},
            "spec": body, "status": {"phase": "Pending"}}


def _node(name: str) -> dict[str, Any]:
    return {"kind": "Node", "metadata": {"name": name,
                                         "labels": {"kubernetes.io/hostname": name}},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}


def _messages(errs: list[Any]) -> list[str]:
    return [e.message for e in errs]


def test_the_smallest_fitting_available_volume_of_the_claims_class_is_chosen() -> None:
    volumes = [_volume("big", "10Gi"), _volume("small", "1Gi"), _volume("mid", "3Gi"),
               _volume("other", "2Gi", cls="fast"),
               _volume("rwx", "2Gi", accessModes=["ReadWriteMany"])]
    found = pvmatch.find_match(_claim("c", "2Gi"), volumes)
    assert found is not None and found["metadata"]["name"] == "mid"
    assert pvmatch.find_match(_claim("c", "20Gi"), volumes) is None


def test_a_volume_reserved_for_a_claim_wins_and_is_not_offered_to_others() -> None:
    reserved = _volume("kept", "5Gi", claimRef={"namespace": "default", "name": "mine"})
    volumes = [_volume("small", "1Gi"), reserved]
    mine = pvmatch.find_match(_claim("mine", "1Gi"), volumes)
    other = pvmatch.find_match(_claim("other", "2Gi"), volumes)
    assert mine is not None and mine["metadata"]["name"] == "kept"
    assert other is None


def test_mismatch_reasons_are_upstreams() -> None:
    assert pvmatch.mismatch(_volume("v", "1Gi"), _claim("c", "2Gi")) == \
        "requested PV is too small"
    assert pvmatch.mismatch(_volume("v", "1Gi"), _claim("c", "1Gi", cls="x")) == \
        "storageClassName does not match"
    assert pvmatch.mismatch(_volume("v", "1Gi"), _claim(
        "c", "1Gi", accessModes=["ReadWriteMany"])) == "incompatible accessMode"


def test_a_selector_and_node_affinity_narrow_the_volumes() -> None:
    labelled = _volume("fast", "1Gi")
    labelled["metadata"]["labels"] = {"disk": "ssd"}
    pinned = _volume("pinned", "1Gi", nodeAffinity=pvmatch.hostname_affinity("n1"))
    claim = _claim("c", "1Gi", selector={"matchLabels": {"disk": "ssd"}})
    assert pvmatch.find_match(claim, [_volume("plain", "1Gi"), labelled]) is labelled
    assert pvmatch.find_match(_claim("c", "1Gi"), [pinned], _node("n2")) is None
    assert pvmatch.find_match(_claim("c", "1Gi"), [pinned], _node("n1")) is pinned


def _pod_with(claim: str) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": "p", "namespace": "default", "uid": "pod"},
            "spec": {"containers": [{"name": "c", "image": "i"}],
                     "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}}


def test_the_scheduler_sends_a_pod_to_its_bound_volumes_node() -> None:
    claim = _claim("c", "1Gi", volumeName="pv")
    volume = _volume("pv", "1Gi", nodeAffinity=pvmatch.hostname_affinity("n2"))
    cluster = Cluster(nodes=[_node("n1"), _node("n2"), _node("n3")], pods=[],
                      claims={"c": claim}, volumes={"pv": volume})
    assert schedule(_pod_with("c"), cluster).node == "n2"
    pinned = _pod_with("c")
    pinned["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "n1"}
    assert schedule(pinned, cluster).message == (
        "0/3 nodes are available: 1 node(s) had volume node affinity conflict, 2 node(s) "
        "didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling.")


def test_the_scheduler_words_missing_unbound_and_unprovisionable_claims() -> None:
    nodes = [_node("n1")]
    assert schedule(_pod_with("c"), Cluster(nodes=nodes, pods=[])).message == (
        '0/1 nodes are available: persistentvolumeclaim "c" not found. preemption: 0/1 '
        "nodes are available: 1 Preemption is not helpful for scheduling.")
    immediate = Cluster(nodes=nodes, pods=[], claims={"c": _claim("c", "1Gi")})
    assert str(schedule(_pod_with("c"), immediate).message).startswith(
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.")
    waiting = {"manual": {"metadata": {"name": "manual"}, "provisioner": "x/none",
                          "volumeBindingMode": "WaitForFirstConsumer"}}
    delayed = Cluster(nodes=nodes, pods=[], claims={"c": _claim("c", "1Gi")},
                      classes=waiting)
    assert str(schedule(_pod_with("c"), delayed).message).startswith(
        "0/1 nodes are available: 1 node(s) didn't find available persistent volumes to "
        "bind.")
    waiting["manual"]["provisioner"] = pvmatch.PROVISIONER
    assert schedule(_pod_with("c"), delayed).node == "n1"


def test_volume_and_class_rules() -> None:
    volume = {"metadata": {"name": "v", "namespace": "ignored"},
              "spec": {"capacity": {"storage": "0"}, "accessModes": [],
                       "hostPath": {"path": "/a/../b"}, "nfs": {"server": "s", "path": "/"}}}
    assert _messages(validate_persistent_volume(volume)) == [
        "spec.accessModes: Required value",
        'spec.capacity[storage]: Invalid value: "0": must be greater than zero',
        "spec.nfs: Forbidden: may not specify more than 1 volume type",
        'spec.hostPath.path: Invalid value: "/a/../b": must not contain \'..\'']
    assert _messages(validate_storage_class({"metadata": {"name": "s"},
                                             "volumeBindingMode": "Later"})) == [
        "provisioner: Required value",
        'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", '
        '"WaitForFirstConsumer"']


def test_updates_keep_claims_immutable_but_for_the_binders_fields() -> None:
    old = _claim("c", "1Gi")
    bound = _claim("c", "1Gi", volumeName="pv")
    assert storage_update_errors(old, bound) == []
    bigger = _claim("c", "2Gi")
    assert _messages(storage_update_errors(old, bigger)) == [
        "spec: Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims"]
    old["status"]["phase"] = "Bound"
    assert storage_update_errors(old, bigger) == []
    stored = {**old, "apiVersion": "v1", "metadata": {**old["metadata"],
                                                      "resourceVersion": "1"}}
    with pytest.raises(Invalid, match="updates to provisioner are forbidden"):
        merged({"kind": "StorageClass", "metadata": {"name": "s"}, "provisioner": "a"},
               {"kind": "StorageClass", "metadata": {"name": "s"}, "provisioner": "b"})
    unchanged = merged(stored, {**stored, "spec": {k: v for k, v in stored["spec"].items()
                                                   if k != "storageClassName"}})
    assert unchanged["spec"]["storageClassName"] == "manual"  # what apply leaves out stays


def test_kubectls_columns() -> None:
    volume = _volume("pv", "1Gi", claimRef={"namespace": "default", "name": "c"},
                     accessModes=["ReadWriteMany", "ReadWriteOnce"], volumeMode="Filesystem")
    volume["status"] = {"phase": "Bound"}
    assert pv_row(volume, NOW, True) == ["pv", "1Gi", "RWO,RWX", "Retain", "Bound",
                                         "default/c", "manual", "<unset>", "", "0s",
                                         "Filesystem"]
    pending = _claim("c", "1Gi")
    assert pvc_row(pending, NOW, False) == ["c", "Pending", "", "", "", "manual", "<unset>",
                                            "0s"]
    bound = _claim("c", "5Gi", volumeName="pv")
    bound["status"] = {"phase": "Bound", "capacity": {"storage": "10Gi"},
                       "accessModes": ["ReadWriteOnce"]}
    assert pvc_row(bound, NOW, False)[:5] == ["c", "Bound", "pv", "10Gi", "RWO"]
    default = {"metadata": {"name": "standard", "creationTimestamp": CREATED, "annotations": {
        "storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"}
    assert sc_row(default, NOW, False) == ["standard (default)", "rancher.io/local-path",
                                           "Delete", "WaitForFirstConsumer", "false", "0s"]


def test_a_read_write_once_pod_claim_takes_one_pod() -> None:
    claim = _claim("c", "1Gi", volumeName="pv", accessModes=["ReadWriteOncePod"])
    holder = {**_pod_with("c"), "metadata": {"name": "h", "namespace": "default",
                                             "uid": "holder"}}
    holder["spec"] = {**holder["spec"], "nodeName": "n1"}
    cluster = Cluster(nodes=[_node("n1")], pods=[holder], claims={"c": claim},
                      volumes={"pv": _volume("pv", "1Gi", accessModes=["ReadWriteOncePod"])})
    assert str(schedule(_pod_with("c"), cluster).message).startswith(
        "0/1 nodes are available: node has pod using PersistentVolumeClaim with the same "
        "name and ReadWriteOncePod access mode.")
    assert schedule(_pod_with("c"), Cluster(nodes=[_node("n1")], pods=[], claims={"c": claim},
                                            volumes=cluster.volumes)).node == "n1"


def test_a_claim_asked_for_read_only_is_mounted_read_only() -> None:
    from podctl.runtime.specs import VolumeSource, container_mounts

    pod = _pod_with("c")
    pod["spec"]["volumes"].append({"name": "ro", "persistentVolumeClaim": {
        "claimName": "c", "readOnly": True}})
    ctr = {"name": "c", "volumeMounts": [{"name": "d", "mountPath": "/d"},
                                         {"name": "ro", "mountPath": "/ro"}]}
    mounts = container_mounts(pod, ctr, {"d": VolumeSource("volume", "pvc-1"),
                                         "ro": VolumeSource("volume", "pvc-1")})
    assert [m.read_only for m in mounts] == [False, True]
