"""The PV controller's passes over a real store (no engine: static volumes only): binding
both ways, phases, reclaim, protection, the retroactive default class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podctl import registry
from podctl.controllers import persistentvolume as pvc
from podctl.controllers.deletion import delete_object
from podctl.errors import Invalid
from podctl.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path)


def _volume(name: str, size: str = "1Gi", policy: str = "Retain") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": "", "persistentVolumeReclaimPolicy": policy,
                     "hostPath": {"path": f"/srv/{name}"}}}


def _claim(name: str, size: str = "1Gi", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                     "resources": {"requests": {"storage": size}}, **spec}}


def _settle(store: Store, keys: list[tuple[str, str, str]]) -> None:
    """Run the passes until nothing asks for more (the controller's queue, in short)."""
    seen = 0
    while keys and seen < 50:
        kind, namespace, name = keys.pop(0)
        seen += 1
        if kind == "PersistentVolumeClaim":
            keys += pvc.sync_claim(store, namespace, name).wake
        elif kind == "PersistentVolume":
            keys += pvc.sync_volume(store, name).wake


def _get(store: Store, kind: str, name: str) -> dict[str, Any]:
    return store.require(kind, "default" if kind == "PersistentVolumeClaim" else "", name)


def test_a_static_volume_binds_both_ways_and_is_released_retained(store: Store) -> None:
    registry.create(store, _volume("pv1"))
    registry.create(store, _claim("c1"))
    _settle(store, [("PersistentVolume", "", "pv1"), ("PersistentVolumeClaim", "default",
                                                       "c1")])
    claim, volume = _get(store, "PersistentVolumeClaim", "c1"), _get(store,
                                                                      "PersistentVolume", "pv1")
    assert claim["spec"]["volumeName"] == "pv1" and claim["status"]["phase"] == "Bound"
    assert claim["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes",
                                                "pv.kubernetes.io/bound-by-controller": "yes"}
    assert claim["status"]["capacity"] == {"storage": "1Gi"}
    assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert volume["status"]["phase"] == "Bound"
    assert volume["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]

    delete_object(store, "PersistentVolumeClaim", "default", "c1")
    _settle(store, [("PersistentVolumeClaim", "default", "c1")])
    assert store.get("PersistentVolumeClaim", "default", "c1") is None  # no pod used it
    _settle(store, [("PersistentVolume", "", "pv1")])
    assert _get(store, "PersistentVolume", "pv1")["status"]["phase"] == "Released"


def test_a_static_volume_that_asks_to_be_deleted_fails_with_upstreams_words(
        store: Store) -> None:
    registry.create(store, _claim("c1"))
    registry.create(store, _volume("pv1", policy="Delete"))
    _settle(store, [("PersistentVolume", "", "pv1")])  # Available: the waiting claim binds
    assert _get(store, "PersistentVolumeClaim", "c1")["status"]["phase"] == "Bound"
    delete_object(store, "PersistentVolumeClaim", "default", "c1")
    _settle(store, [("PersistentVolumeClaim", "default", "c1"), ("PersistentVolume", "",
                                                                  "pv1")])
    status = _get(store, "PersistentVolume", "pv1")["status"]
    assert status["phase"] == "Failed"
    assert status["message"] == ('error getting deleter volume plugin for volume "pv1": no '
                                 "deletable volume plugin matched")


def test_a_claim_in_use_keeps_its_finalizer_until_its_pod_is_gone(store: Store) -> None:
    registry.create(store, _claim("c1"))
    registry.create(store, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                            "spec": {"nodeName": "n1",
                                     "containers": [{"name": "c", "image": "i"}],
                                     "volumes": [{"name": "d", "persistentVolumeClaim": {
                                         "claimName": "c1"}}]}})
    delete_object(store, "PersistentVolumeClaim", "default", "c1")
    synced = pvc.sync_claim(store, "default", "c1")
    assert synced.retry_in is not None
    assert _get(store, "PersistentVolumeClaim", "c1")["metadata"]["deletionTimestamp"]
    store.delete("Pod", "default", "p")
    pvc.sync_claim(store, "default", "c1")
    assert store.get("PersistentVolumeClaim", "default", "c1") is None


def test_a_prebound_claim_waits_for_a_volume_that_fits(store: Store) -> None:
    registry.create(store, _volume("small", "1Gi"))
    registry.create(store, _claim("c1", "2Gi", volumeName="small"))
    _settle(store, [("PersistentVolumeClaim", "default", "c1")])
    claim = _get(store, "PersistentVolumeClaim", "c1")
    assert claim["status"]["phase"] == "Pending"
    assert [e["message"] for e in store.events_for(claim["metadata"]["uid"])] == [
        'Cannot bind to requested volume "small": requested PV is too small']


def test_a_claim_without_a_class_gets_the_default_once_there_is_one(store: Store) -> None:
    claim = _claim("c1")
    del claim["spec"]["storageClassName"]
    registry.create(store, claim)
    assert "storageClassName" not in _get(store, "PersistentVolumeClaim", "c1")["spec"]
    pvc.ensure_default_class(store)
    pvc.sync_claim(store, "default", "c1")
    assert _get(store, "PersistentVolumeClaim", "c1")["spec"]["storageClassName"] == \
        "standard"
    later = _claim("c2")
    del later["spec"]["storageClassName"]
    assert registry.create(store, later)["spec"]["storageClassName"] == "standard"


def test_a_claim_grows_only_when_bound_and_its_class_allows_it(store: Store) -> None:
    from podctl.errors import Forbidden

    registry.create(store, {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                            "metadata": {"name": "elastic"}, "provisioner": "x/y",
                            "allowVolumeExpansion": True})
    registry.create(store, _volume("pv1", "1Gi"))
    registry.create(store, _claim("c1"))
    _settle(store, [("PersistentVolume", "", "pv1")])

    def grow(claim: dict[str, Any]) -> bool:
        claim["spec"]["resources"]["requests"]["storage"] = "2Gi"
        return True

    with pytest.raises(Forbidden, match='persistentvolumeclaims "c1" is forbidden: only '
                       "dynamically provisioned pvc can be resized and the storageclass "
                       "that provisions the pvc must support resize"):
        registry.mutate(store, "PersistentVolumeClaim", "default", "c1", grow)
    registry.create(store, _claim("c2", storageClassName="elastic"))
    with pytest.raises(Invalid, match="spec is immutable after creation"):
        registry.mutate(store, "PersistentVolumeClaim", "default", "c2", grow)


def test_a_bound_claim_grows_no_further_than_its_limit_range(store: Store) -> None:
    from podctl.errors import Forbidden

    registry.create(store, {"apiVersion": "v1", "kind": "LimitRange",
                            "metadata": {"name": "lr"},
                            "spec": {"limits": [{"type": "PersistentVolumeClaim",
                                                 "max": {"storage": "1Gi"}}]}})
    registry.create(store, _volume("pv1", "1Gi"))
    registry.create(store, _claim("c1"))
    _settle(store, [("PersistentVolume", "", "pv1")])

    def grow(claim: dict[str, Any]) -> bool:
        claim["spec"]["resources"]["requests"]["storage"] = "2Gi"
        return True

    with pytest.raises(Forbidden, match='persistentvolumeclaims "c1" is forbidden: maximum '
                       "storage usage per PersistentVolumeClaim is 1Gi, but request is 2Gi"):
        registry.mutate(store, "PersistentVolumeClaim", "default", "c1", grow)
