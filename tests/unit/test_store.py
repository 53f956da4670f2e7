"""store: objects, optimistic updates, events with repeat counts, pod state."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl.errors import AlreadyExists, Conflict, NotFound
from podctl.store import open_store
from podctl.store.db import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path)


def pod(name: str, namespace: str = "default") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace}, "spec": {}}


def test_default_namespace_always_exists(store: Store) -> None:
    assert store.get("Namespace", "", "default") is not None


def test_create_fills_server_fields(store: Store) -> None:
    created = store.create(pod("a"))
    md = created["metadata"]
    assert len(md["uid"]) == 36 and md["creationTimestamp"].endswith("Z")
    assert int(md["resourceVersion"]) > 0
    assert store.get("Pod", "default", "a") == created


def test_create_twice_is_already_exists(store: Store) -> None:
    store.create(pod("a"))
    with pytest.raises(AlreadyExists, match='pods "a" already exists'):
        store.create(pod("a"))


def test_create_in_missing_namespace_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match='namespaces "nope" not found'):
        store.create(pod("a", "nope"))


def test_list_is_per_namespace_and_sorted(store: Store) -> None:
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    for name, ns in (("b", "default"), ("a", "default"), ("c", "other")):
        store.create(pod(name, ns))
    assert [p["metadata"]["name"] for p in store.list("Pod", "default")] == ["a", "b"]
    assert [p["metadata"]["name"] for p in store.list("Pod")] == ["a", "b", "c"]


def test_update_with_stale_version_conflicts(store: Store) -> None:
    created = store.create(pod("a"))
    rv = created["metadata"]["resourceVersion"]
    store.update(created, expect_rv=rv)
    with pytest.raises(Conflict):
        store.update(created, expect_rv=rv)


def test_events_repeat_counts_and_outlive_the_object(store: Store) -> None:
    created = store.create(pod("a"))
    for _ in range(3):
        store.record_event(created, "Warning", "Unhealthy", "probe failed", "kubelet")
    store.record_event(created, "Normal", "Killing", "stop", "kubelet")
    events = store.events_for(created["metadata"]["uid"])
    assert [(e["reason"], e["count"]) for e in events] == [("Unhealthy", 3), ("Killing", 1)]
    store.delete("Pod", "default", "a")
    listed = store.list_events("default")
    assert [(e["reason"], e["involvedObject"]["name"]) for e in listed] == [
        ("Unhealthy", "a"), ("Killing", "a")]


def test_pod_state_round_trips(store: Store) -> None:
    store.put_pod_state("u", {"containers": {"a": {"ready": True}}})
    assert store.pod_state("u") == {"containers": {"a": {"ready": True}}}
    assert store.pod_states() == {"u": {"containers": {"a": {"ready": True}}}}
