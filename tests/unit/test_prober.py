"""kubelet.prober: thresholds, initial results, startup gating and kills, with fake probes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from podctl.kubelet.prober import Prober
from podctl.kubelet.probes import FAILURE, SUCCESS, Outcome
from podctl.store import open_store
from podctl.store.db import Store

from .records import pod, record, sandbox


class Script:
    """Fake probe results per probe kind (recognised by the handler's command)."""

    def __init__(self) -> None:
        self.results: dict[str, list[str]] = {}

    def __call__(self, probe: dict[str, Any], ip: str, container: dict[str, Any],
                 cid: str) -> Outcome:
        kind = probe["exec"]["command"][0]
        queue = self.results.get(kind) or [SUCCESS]
        result = queue.pop(0) if len(queue) > 1 else queue[0]
        return Outcome(result, f"{kind} said {result}")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(tmp_path)
    s.create({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "p", "namespace": "default", "uid": "uid-1"}, "spec": {}})
    return s


def probed_pod(**probes: dict[str, Any]) -> dict[str, Any]:
    p = pod("a")
    container = p["spec"]["containers"][0]  # type: ignore[index]
    for field, probe in probes.items():
        container[field] = {"exec": {"command": [field]}, "periodSeconds": 0.05, **probe}
    return p


def run_for(prober: Prober, seconds: float) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=prober.run, args=(stop,))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()


def test_readiness_turns_true_after_success_threshold(store: Store) -> None:
    script = Script()
    script.results["readinessProbe"] = [FAILURE, SUCCESS, SUCCESS]
    prober = Prober(store, kill=lambda *a: None, probe=script)
    app = record("a")
    prober.update_pod(probed_pod(readinessProbe={"successThreshold": 2}), [sandbox(), app])
    run_for(prober, 0.5)
    assert store.probe_results() == {app.id: {"readiness": True}}
    events = store.events_for("uid-1")
    assert events[0]["reason"] == "Unhealthy"
    assert events[0]["message"] == "Readiness probe failed: readinessProbe said failure"


def test_liveness_kills_after_failure_threshold(store: Store) -> None:
    script = Script()
    script.results["livenessProbe"] = [FAILURE]
    killed: list[tuple[str, int]] = []
    prober = Prober(store, kill=lambda p, name, cid, grace: killed.append((name, grace)),
                    probe=script)
    prober.update_pod(probed_pod(livenessProbe={"failureThreshold": 3}), [sandbox(), record("a")])
    run_for(prober, 0.5)
    assert killed == [("a", 30)]
    reasons = [(e["reason"], e["count"]) for e in store.events_for("uid-1")]
    assert ("Unhealthy", 3) in reasons and ("Killing", 1) in reasons
    assert prober.workers == {}


def test_startup_probe_holds_liveness_back(store: Store) -> None:
    script = Script()
    script.results["startupProbe"] = [FAILURE]
    script.results["livenessProbe"] = [FAILURE]
    killed: list[str] = []
    prober = Prober(store, kill=lambda p, name, cid, grace: killed.append(name), probe=script)
    prober.update_pod(probed_pod(startupProbe={"failureThreshold": 1000},
                                 livenessProbe={"failureThreshold": 1}),
                      [sandbox(), record("a")])
    run_for(prober, 0.3)
    assert killed == []
    assert all(e["message"].startswith("Startup probe failed") for e in
               store.events_for("uid-1"))


def test_workers_follow_the_running_container(store: Store) -> None:
    prober = Prober(store, kill=lambda *a: None, probe=Script())
    p = probed_pod(readinessProbe={})
    prober.update_pod(p, [sandbox(), record("a", 0)])
    assert [k[0] for k in prober.workers] == [record("a", 0).id]
    prober.update_pod(p, [sandbox(), record("a", 0, "exited", 1), record("a", 1)])
    assert [k[0] for k in prober.workers] == [record("a", 1).id]
    prober.forget_pod("uid-1")
    assert prober.workers == {}


class FirstVerdictFirst(Store):
    """A store whose reading of the stored results, as a new worker's initial result is
    published, waits (a little) for that worker's first verdict: the interleaving in which
    an initial result published after the worker ran overwrote its verdict."""

    verdict = threading.Event()

    def probe_results(self, pod_uid: str | None = None) -> dict[str, dict[str, bool]]:
        self.verdict.wait(timeout=0.5)
        return super().probe_results(pod_uid)

    def set_probe_result(self, pod_uid: str, container_id: str, probe: str, ok: bool) -> None:
        super().set_probe_result(pod_uid, container_id, probe, ok)
        if ok:
            self.verdict.set()


def test_a_first_verdict_is_not_overwritten_by_the_initial_result(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.__class__ = FirstVerdictFirst
    prober = Prober(store, kill=lambda *a: None, probe=Script())
    stop = threading.Event()
    thread = threading.Thread(target=prober.run, args=(stop,))
    thread.start()
    try:
        app = record("a")
        prober.update_pod(probed_pod(readinessProbe={"periodSeconds": 3600}), [sandbox(), app])
        deadline = time.monotonic() + 5
        while not FirstVerdictFirst.verdict.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    assert store.probe_results() == {app.id: {"readiness": True}}


def test_a_startup_probe_stops_at_its_first_success(store: Store) -> None:
    """Failures after the startup probe passed kill nothing: it is no longer run."""
    script = Script()
    script.results["startupProbe"] = [SUCCESS, FAILURE]
    killed: list[str] = []
    prober = Prober(store, kill=lambda p, name, cid, grace: killed.append(name), probe=script)
    prober.update_pod(probed_pod(startupProbe={"failureThreshold": 1}), [sandbox(), record("a")])
    run_for(prober, 0.5)
    assert killed == [] and store.probe_results() == {record("a").id: {"startup": True}}


def test_sidecars_are_probed_as_app_containers(store: Store) -> None:
    script = Script()
    script.results["readinessProbe"] = [SUCCESS]
    prober = Prober(store, kill=lambda *a: None, probe=script)
    p = pod("a")
    p["spec"]["initContainers"] = [{  # type: ignore[index]
        "name": "side", "image": "img", "restartPolicy": "Always",
        "readinessProbe": {"exec": {"command": ["readinessProbe"]}, "periodSeconds": 0.05}}]
    side = record("side")
    prober.update_pod(p, [sandbox(), record("a"), side])
    run_for(prober, 0.3)
    assert store.probe_results() == {side.id: {"readiness": True}}
