"""admission: the chain's order and registration, and NamespaceLifecycle, against a real
store (the Service allocator has its own file, test_service_alloc.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from podctl import admission, registry
from podctl.admission import CREATE, DELETE, Attributes, Chain, Plugin
from podctl.admission.lifecycle import NamespaceLifecycle
from podctl.errors import Forbidden, NotFound
from podctl.store import Snapshot, Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path)


def config_map(name: str, namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": {"k": "v"}}


class Recorder(Plugin):
    """Writes down when each of its halves ran, and whether a write transaction was open."""

    def __init__(self, name: str, log: list[str], store: Store) -> None:
        self.name, self.log, self.store = name, log, store

    def prepare(self, attrs: Attributes) -> None:
        self.log.append(f"{self.name}.prepare in_transaction={self.store._db.in_transaction}")

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        assert attrs.obj is not None
        attrs.obj["metadata"].setdefault("labels", {})[self.name] = "admitted"
        self.log.append(f"{self.name}.admit in_transaction={self.store._db.in_transaction}")

    def validate(self, attrs: Attributes, view: Snapshot) -> None:
        self.log.append(f"{self.name}.validate")


def test_mutating_halves_then_validating_halves_in_chain_order(store: Store) -> None:
    log: list[str] = []
    chain = Chain([Recorder("a", log, store), Recorder("b", log, store)])
    stored = registry.create(store, config_map("c"), chain=chain)
    assert log == ["a.prepare in_transaction=False", "b.prepare in_transaction=False",
                   "a.admit in_transaction=True", "b.admit in_transaction=True",
                   "a.validate", "b.validate"]
    assert stored["metadata"]["labels"] == {"a": "admitted", "b": "admitted"}


def test_a_refusing_plugin_stops_the_write(store: Store) -> None:
    class Refuse(Plugin):
        def validate(self, attrs: Attributes, view: Snapshot) -> None:
            raise Forbidden(f'configmaps "{attrs.name}" is forbidden: no')

    with pytest.raises(Forbidden, match="is forbidden: no"):
        registry.create(store, config_map("c"), chain=Chain([Refuse()]))
    assert store.get("ConfigMap", "default", "c") is None


def test_slots_are_upstreams_order_and_registration_fills_one(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert admission.SLOTS.index("NamespaceLifecycle") == 0
    assert admission.SLOTS[-2:] == ("ResourceQuota", "CustomResourceValidation")
    assert [p.name for p in admission.chain_for(store).plugins] == [
        "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "DefaultTolerationSeconds",
        "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize",
        "DefaultIngressClass", "ServiceIPAllocator", "ResourceQuota"]
    monkeypatch.setattr(admission, "_registered", dict(admission._registered))
    log: list[str] = []
    admission.register("ResourceQuota", lambda s: Recorder("quota", log, s))
    admission.register("CustomResourceValidation", lambda s: Recorder("crd", log, s))
    assert [p.name for p in admission.chain_for(store).plugins] == [
        "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "DefaultTolerationSeconds",
        "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize",
        "DefaultIngressClass", "ServiceIPAllocator", "quota", "crd"]
    with pytest.raises(ValueError, match="no admission slot 'Webhooks'"):
        admission.register("Webhooks", lambda s: Recorder("w", log, s))


def lifecycle(store: Store) -> Chain:
    return Chain([NamespaceLifecycle()])


def test_no_content_in_a_missing_namespace(store: Store) -> None:
    with pytest.raises(NotFound, match='namespaces "nope" not found'):
        registry.create(store, config_map("c", "nope"), chain=lifecycle(store))


def test_no_new_content_in_a_terminating_namespace(store: Store) -> None:
    registry.create(store, {"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": "gone"}})
    store.mutate("Namespace", "", "gone", lambda ns: bool(
        ns["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z") or True))
    with pytest.raises(Forbidden) as caught:
        registry.create(store, config_map("c", "gone"), chain=lifecycle(store))
    assert str(caught.value) == ('configmaps "c" is forbidden: unable to create new content '
                                 "in namespace gone because it is being terminated")
    assert store.list("ConfigMap", "gone") == []


def test_the_namespace_check_is_inside_the_write_transaction(store: Store) -> None:
    """A namespace marked between the chain's check and the insert would let content in
    after the deletion listed it: the check and the insert are one transaction, so the mark
    waits for the create, or the create sees the mark."""
    registry.create(store, {"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": "ns"}})
    checked, go_on = threading.Event(), threading.Event()

    class Pause(Plugin):
        def validate(self, attrs: Attributes, view: Snapshot) -> None:
            checked.set()
            go_on.wait(5)

    def mark() -> None:
        checked.wait(5)
        other = open_store(store.path.parent)
        other.mutate("Namespace", "", "ns", lambda ns: bool(
            ns["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z") or True))

    marker = threading.Thread(target=mark)
    marker.start()
    threading.Timer(0.3, go_on.set).start()
    registry.create(store, config_map("c", "ns"), chain=Chain([NamespaceLifecycle(), Pause()]))
    marker.join()
    # The mark came after the create committed: the content exists, the namespace is
    # marked, and the namespace's deletion (which lists after its mark) will find it.
    namespace = store.require("Namespace", "", "ns")
    assert namespace["metadata"]["deletionTimestamp"]
    assert int(namespace["metadata"]["resourceVersion"]) > int(
        store.require("ConfigMap", "ns", "c")["metadata"]["resourceVersion"])


def test_cluster_scoped_kinds_need_no_namespace(store: Store) -> None:
    created = registry.create(store, {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": "fresh"}}, chain=lifecycle(store))
    assert created["status"] == {"phase": "Active"}


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_the_clusters_own_namespaces_are_never_deleted(store: Store, name: str) -> None:
    attrs = Attributes(DELETE, "Namespace", "", name, None)
    with pytest.raises(Forbidden) as caught:
        store.check(lifecycle(store).admitter(attrs))
    assert str(caught.value) == (f'namespaces "{name}" is forbidden: this namespace may not '
                                 "be deleted")


def test_lifecycle_handles_creates_of_namespaced_kinds_and_namespace_deletes() -> None:
    plugin = NamespaceLifecycle()

    def attrs(operation: str, kind: str) -> Attributes:
        return Attributes(operation, kind, "default", "x", {})

    assert plugin.handles(attrs(CREATE, "Pod"))
    assert not plugin.handles(attrs(CREATE, "Namespace"))
    assert plugin.handles(attrs(DELETE, "Namespace"))
    assert not plugin.handles(attrs(DELETE, "Pod"))
