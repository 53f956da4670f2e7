"""The scheduler's own status write: a pod it cannot place shows PodScheduled False and
why, written through the registry's status subresource."""

from __future__ import annotations

from pathlib import Path

import pytest

from podctl import registry
from podctl.controllers.bind import _write_unschedulable, bind_created, bind_pending
from podctl.kubelet.status import compute_status
from podctl.store import Store, open_store

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    return open_store(tmp_path)


def test_an_unplaced_pod_shows_why_as_the_kubelet_would(store: Store) -> None:
    pod = registry.create(store, POD)
    first = {"message": "0/1 nodes are available", "since": "2026-01-01T00:00:00Z"}
    _write_unschedulable(store, pod, first)
    stored = store.require("Pod", "default", "p")
    assert stored["status"] == compute_status(stored, [], {"scheduling": first}, None)
    (condition,) = stored["status"]["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "PodScheduled", "False", "Unschedulable")
    later = {"message": "still no room", "since": "2026-01-01T00:05:00Z"}
    _write_unschedulable(store, pod, later)
    (again,) = store.require("Pod", "default", "p")["status"]["conditions"]
    assert again["message"] == "still no room"
    assert again["lastTransitionTime"] == "2026-01-01T00:00:00Z"  # False all along


def test_nothing_is_written_for_a_pod_bound_meanwhile_or_gone(store: Store) -> None:
    pod = registry.create(store, POD)
    bound = registry.bind(store, "default", "p", "node")
    _write_unschedulable(store, pod, {"message": "m", "since": "2026-01-01T00:00:00Z"})
    assert store.require("Pod", "default", "p") == bound
    store.delete("Pod", "default", "p")
    _write_unschedulable(store, pod, {"message": "m", "since": "2026-01-01T00:00:00Z"})
    assert store.get("Pod", "default", "p") is None


def test_a_pod_for_another_scheduler_is_left_alone(store: Store) -> None:
    pod = registry.create(store, {**POD, "spec": {**POD["spec"], "schedulerName": "mine"}})
    assert "nodeName" not in bind_created(store, pod)["spec"]
    assert not bind_pending(store, pod)
    assert store.events_for(pod["metadata"]["uid"]) == []
