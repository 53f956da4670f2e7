"""kubelet.statusmanager: what the kubelet stores as a pod's status, and how it writes it."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

import pytest

from podctl.api import meta
from podctl.kubelet.status import NodeFacts, compute_status
from podctl.kubelet.statusmanager import (
    known_from_status,
    readiness_status,
    reconcile,
    unknown_status,
    write_status,
)
from podctl.store import Store, open_store

from .records import pod, record, sandbox

NODE = NodeFacts("node", "192.168.1.1")
NOW = "2026-01-01T01:00:00Z"


def running_status(p: dict[str, Any]) -> dict[str, Any]:
    return compute_status(p, [sandbox(), record("a")], {}, NODE)


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path)


def test_a_terminal_phase_is_final() -> None:
    done = compute_status(pod("a", policy="Never"),
                          [sandbox(), record("a", state="exited", exit_code=0)], {}, NODE)
    assert done["phase"] == "Succeeded"
    pending = compute_status(pod("a", policy="Never"), [], {}, NODE)
    assert reconcile(done, pending, terminating=False, now=NOW) == done


def test_a_terminating_pod_never_goes_back_to_pending() -> None:
    running = running_status(pod("a"))
    removed = compute_status(pod("a"), [], {}, NODE)
    assert removed["phase"] == "Pending"
    assert reconcile(running, removed, terminating=True, now=NOW) == running
    # A pod that is not being deleted may well start again from nothing.
    assert reconcile(running, removed, terminating=False, now=NOW)["phase"] == "Pending"


def test_a_condition_keeps_its_time_while_its_status_stays_and_moves_when_it_changes() -> None:
    p = pod("a")
    p["spec"]["containers"][0]["readinessProbe"] = {"exec": {"command": ["true"]}}  # type: ignore[index]
    unready = compute_status(p, [sandbox(), record("a")], {}, NODE)
    stored = copy.deepcopy(unready)
    condition(stored, "Initialized")["lastTransitionTime"] = "2026-01-01T00:00:09Z"
    probes = {record("a").id: {"readiness": True}}
    ready = compute_status(p, [sandbox(), record("a")], {"probes": probes}, NODE)
    out = reconcile(stored, ready, terminating=False, now=NOW)
    assert condition(out, "Initialized")["lastTransitionTime"] == "2026-01-01T00:00:09Z"
    assert condition(out, "Ready")["status"] == "True"
    assert condition(out, "Ready")["lastTransitionTime"] == NOW


def test_write_status_writes_only_a_change_and_each_change_is_one_version(store: Store) -> None:
    created = store.create({**pod("a"), "status": {"phase": "Pending"}})
    first, wrote = write_status(store, created, running_status)
    assert wrote and first is not None and first["status"]["phase"] == "Running"
    again, wrote_again = write_status(store, created, running_status)
    assert not wrote_again and again is not None
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert int(first["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"])


def test_write_status_keeps_the_spec_and_retries_after_a_conflict(store: Store) -> None:
    created = store.create({**pod("a"), "status": {"phase": "Pending"}})
    raced = threading.Event()

    def generate(fresh: dict[str, Any]) -> dict[str, Any]:
        if not raced.is_set():  # someone labels the pod between our read and our write
            raced.set()
            other = store.require("Pod", "default", "p")
            other["metadata"]["labels"] = {"tier": "web"}
            store.update(other)
        return running_status(fresh)

    stored, wrote = write_status(store, created, generate)
    assert wrote and stored is not None
    final = store.require("Pod", "default", "p")
    assert final["metadata"]["labels"] == {"tier": "web"}
    assert final["status"]["phase"] == "Running"


def test_write_status_of_a_pod_gone_or_replaced_is_none(store: Store) -> None:
    created = store.create({**pod("a"), "status": {"phase": "Pending"}})
    store.delete("Pod", "default", "p")
    store.create({**pod("a"), "metadata": {**created["metadata"], "uid": "uid-2"}})
    assert write_status(store, created, running_status) == (None, False)


def test_known_from_status_spares_the_inspect_of_unmoved_containers() -> None:
    p = pod("a", "b")
    stored = compute_status(p, [sandbox(), record("a"),
                                record("b", state="exited", exit_code=3,
                                       finished="2026-01-01T00:05:00Z")], {}, NODE)
    listed = [sandbox(), record("a"), record("b", state="exited"), record("a", attempt=1)]
    for r in listed:
        r.inspected, r.started_at, r.started, r.exit_code, r.finished_at = (
            False, None, None, None, None)
    known_from_status(listed, stored)
    _, a, b, a_new = listed
    assert a.inspected and a.started_at == "2026-01-01T00:00:00Z"
    assert b.inspected and (b.exit_code, b.finished_at) == (3, "2026-01-01T00:05:00Z")
    assert not a_new.inspected  # a new container: only an inspect can tell
    assert not listed[0].inspected  # the sandbox's IP comes from the list itself


def test_a_fresh_sigkill_exit_is_inspected_again_for_a_late_oom_report() -> None:
    """Docker may set OOMKilled just after the exit the status was written from."""
    def listed_after(finished: str) -> Any:
        stored = compute_status(pod("a"), [sandbox(), record("a", state="exited",
                                                            exit_code=137,
                                                            finished=finished)], {}, NODE)
        again = record("a", state="exited")
        again.inspected, again.exit_code = False, None
        known_from_status([again], stored)
        return again

    just_now = meta.now_rfc3339()
    assert not listed_after(just_now).inspected  # asked again: the reason may change
    assert listed_after("2026-01-01T00:05:00Z").inspected  # long ago: settled


def test_unknown_is_not_ready_and_keeps_the_rest() -> None:
    running = running_status(pod("a"))
    out = unknown_status(running, NOW)
    assert out["phase"] == "Unknown" and out["podIP"] == running["podIP"]
    assert out["containerStatuses"][0]["ready"] is False
    assert out["containerStatuses"][0]["state"] == running["containerStatuses"][0]["state"]
    assert condition(out, "Ready")["status"] == "False"
    assert condition(out, "Ready")["lastTransitionTime"] == NOW
    assert running["phase"] == "Running"  # the stored one is not changed in place


def test_readiness_follows_the_probes_without_the_engine() -> None:
    p = pod("a")
    p["spec"]["containers"][0]["readinessProbe"] = {"exec": {"command": ["true"]}}  # type: ignore[index]
    p["status"] = compute_status(p, [sandbox(), record("a")], {}, NODE)
    assert condition(p["status"], "Ready")["status"] == "False"
    out = readiness_status(p, {record("a").id: {"readiness": True}})
    assert out["containerStatuses"][0]["ready"] is True
    assert condition(out, "Ready")["status"] == "True"
    assert condition(out, "ContainersReady")["status"] == "True"
    # A verdict about another container instance (an old attempt) changes nothing.
    assert readiness_status(p, {"other": {"readiness": True}}) == p["status"]
    p["status"] = unknown_status(p["status"], NOW)
    assert readiness_status(p, {record("a").id: {"readiness": True}}) == p["status"]
