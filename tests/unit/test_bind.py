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


GATED = {**POD, "spec": {**POD["spec"], "schedulingGates": [{"name": "example.com/a"},
                                                             {"name": "example.com/b"}]}}


def test_a_gated_pod_waits_for_its_gates_to_go(store: Store) -> None:
    from podctl.errors import Invalid
    from podctl.printers.pods import pod_status_text

    pod = registry.create(store, GATED)
    (condition,) = pod["status"]["conditions"]
    assert (condition["type"], condition["status"], condition["reason"],
            condition["message"]) == ("PodScheduled", "False", "SchedulingGated",
                                      "Scheduling is blocked due to non-empty scheduling gates")
    assert pod_status_text(pod) == "SchedulingGated"
    assert "nodeName" not in bind_created(store, pod)["spec"]
    assert not bind_pending(store, pod)
    assert store.events_for(pod["metadata"]["uid"]) == []  # no FailedScheduling
    # A gate may be removed, never added.
    one = registry.mutate(store, "Pod", "default", "p", lambda p: bool(
        p["spec"]["schedulingGates"].pop(0)))
    assert one is not None and one["spec"]["schedulingGates"] == [{"name": "example.com/b"}]
    with pytest.raises(Invalid) as added:
        registry.mutate(store, "Pod", "default", "p", lambda p: bool(
            p["spec"]["schedulingGates"].append({"name": "x"}) or True))
    assert str(added.value).endswith("spec.schedulingGates: Forbidden: only deletion is "
                                     "allowed, but found new scheduling gate 'x'")


def test_gates_are_qualified_names_once_and_no_node_is_named_with_them(store: Store) -> None:
    from podctl.errors import Invalid

    bad = {**POD, "spec": {**POD["spec"], "nodeName": "node", "schedulingGates": [
        {"name": "a"}, {"name": "a"}, {"name": "Bad Gate"}]}}
    with pytest.raises(Invalid) as refused:
        registry.create(store, bad)
    text = str(refused.value)
    assert 'spec.schedulingGates[1]: Duplicate value: "a"' in text
    assert 'spec.schedulingGates[2]: Invalid value: "Bad Gate": name part must consist of' \
        in text
    assert "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been " \
           "cleared" in text
