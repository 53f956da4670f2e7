"""A Terminating namespace is emptied of every kind, as the namespace controller does."""

from __future__ import annotations

from typing import Any

from podctl.api import meta
from podctl.controllers.deletion import advance_namespace_deletion, mark_namespace_deleting
from podctl.store.db import Store

TEMPLATE = {"spec": {"containers": [{"name": "c", "image": "i"}]}}


def make(kind: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": meta.api_version(kind), "kind": kind,
            "metadata": {"name": kind.lower(), "namespace": "gone"}, "spec": spec}


def test_every_kind_in_a_deleted_namespace_goes_with_it(node_store: Store) -> None:
    store = node_store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}})
    for obj in (make("CronJob", schedule="0 0 1 1 *", jobTemplate={"spec": {
                    "template": TEMPLATE}}),
                make("Job", template=TEMPLATE), make("DaemonSet", template=TEMPLATE),
                make("Deployment", template=TEMPLATE), make("ReplicaSet", template=TEMPLATE),
                make("ConfigMap"), make("Service", ports=[{"port": 80}])):
        store.create(obj)
    assert mark_namespace_deleting(store, "gone") is not None
    assert advance_namespace_deletion(store, "gone") == []
    left = {kind: store.list(kind, "gone") for kind in meta.NAMESPACED}
    assert all(objs == [] for objs in left.values()), left
    assert store.get("Namespace", "", "gone") is None
