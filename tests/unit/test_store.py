"""store: objects, optimistic updates, events with repeat counts, pod state."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

import pytest

from podctl.errors import AlreadyExists, Conflict
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


def test_list_is_per_namespace_and_sorted(store: Store) -> None:
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    for name, ns in (("b", "default"), ("a", "default"), ("c", "other")):
        store.create(pod(name, ns))
    assert [p["metadata"]["name"] for p in store.list("Pod", "default")] == ["a", "b"]
    assert [p["metadata"]["name"] for p in store.list("Pod")] == ["a", "b", "c"]


def test_unscheduled_pods_are_those_without_a_node(store: Store) -> None:
    store.create(pod("waiting"))
    store.create({**pod("empty"), "spec": {"nodeName": ""}})
    store.create({**pod("bound"), "spec": {"nodeName": "node-1"}})
    assert sorted(store.unscheduled_pods()) == [("default", "empty"), ("default", "waiting")]


def test_update_with_stale_version_conflicts(store: Store) -> None:
    created = store.create(pod("a"))
    stale = copy.deepcopy(created)
    store.update(created)
    with pytest.raises(Conflict, match='Operation cannot be fulfilled on pods "a"'):
        store.update(stale)


def test_status_write_keeps_the_stored_spec(store: Store) -> None:
    created = store.create(pod("a"))
    read_by_controller = copy.deepcopy(created)
    created["spec"] = {"nodeName": "n1"}
    store.update(created)
    read_by_controller["status"] = {"phase": "Running"}
    with pytest.raises(Conflict):
        store.update_status(read_by_controller)  # read before the spec write: refused
    fresh = store.require("Pod", "default", "a")
    fresh["status"] = {"phase": "Running"}
    fresh["spec"] = {"nodeName": "ignored"}
    store.update_status(fresh)
    stored = store.require("Pod", "default", "a")
    assert stored["spec"] == {"nodeName": "n1"} and stored["status"] == {"phase": "Running"}


def test_mutate_loses_no_write_under_racing_writers(tmp_path: Path) -> None:
    """Two processes' worth of connections bump one counter; every increment survives."""
    open_store(tmp_path).create(pod("counter"))

    def bump(times: int) -> None:
        store = open_store(tmp_path)

        def add_one(obj: dict[str, Any]) -> bool:
            labels = obj["metadata"].setdefault("labels", {})
            labels["n"] = str(int(labels.get("n", "0")) + 1)
            return True

        for _ in range(times):
            store.mutate("Pod", "default", "counter", add_one)
        store.close()

    threads = [threading.Thread(target=bump, args=(150,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert open_store(tmp_path).require("Pod", "default", "counter")["metadata"]["labels"] == {
        "n": "600"}


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


def _in_another_process(home: Path, write: str = "", read: str = "") -> bool:
    """A fresh process (as a CLI command is) that opens the store, maybe writes or reads
    a pod, and closes it: the last connection of its process, so SQLite may checkpoint."""
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from podctl.store import open_store\n"
        "store = open_store(Path(sys.argv[1]))\n"
        "if sys.argv[2]: store.create({'apiVersion': 'v1', 'kind': 'Pod', 'spec': {},"
        " 'metadata': {'name': sys.argv[2], 'namespace': 'default'}})\n"
        "seen = bool(sys.argv[3]) and store.get('Pod', 'default', sys.argv[3]) is not None\n"
        "store.close()\n"
        "print(seen)\n")
    done = subprocess.run([sys.executable, "-c", script, str(home), write, read],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip() == "True"


def test_a_second_store_in_a_process_keeps_it_in_step_with_other_processes(
        tmp_path: Path) -> None:
    first = open_store(tmp_path)
    second = open_store(tmp_path)  # as the API server's beside the controller's
    # Had opening it dropped this process's locks on the file, the next process would take
    # itself for the last user, fold the WAL in and remove it under our feet: what we
    # write next would go where nobody else looks, and we would not see its writes.
    _in_another_process(tmp_path, read="nothing")
    assert (tmp_path / "store.db-wal").exists()
    _in_another_process(tmp_path, write="from-afar")
    first.create(pod("mine"))
    assert _in_another_process(tmp_path, read="mine")
    assert second.get("Pod", "default", "from-afar") is not None
    assert (tmp_path / "store.db").stat().st_mode & 0o777 == 0o600
