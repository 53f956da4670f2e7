"""kubelet.status: phase, container states, conditions and QoS as pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.kubelet.status import NodeFacts, compute_status, qos_class

from .records import pod, record, sandbox

NODE = NodeFacts("node", "192.168.1.1")


def status(p: dict[str, Any], records: list[Any], state: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    return compute_status(p, records, state or {}, NODE)


def test_no_containers_yet_is_pending_container_creating() -> None:
    s = status(pod("a"), [])
    assert s["phase"] == "Pending"
    assert s["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert "podIP" not in s


def test_running_container_is_running_and_ready() -> None:
    s = status(pod("a"), [sandbox(), record("a")])
    cs = s["containerStatuses"][0]
    assert s["phase"] == "Running" and s["podIP"] == "10.0.0.5"
    assert cs["ready"] is True and cs["started"] is True
    assert cs["state"] == {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    assert cs["containerID"] == "docker://" + "a0".ljust(64, "0")
    assert cs["imageID"] == "docker://sha256:abc"
    assert [c["type"] for c in s["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(c["status"] == "True" for c in s["conditions"])


def test_readiness_probe_not_yet_passed_means_not_ready() -> None:
    p = pod("a")
    p["spec"]["containers"][0]["readinessProbe"] = {"exec": {"command": ["true"]}}  # type: ignore[index]
    s = status(p, [sandbox(), record("a")])
    ready = next(c for c in s["conditions"] if c["type"] == "Ready")
    assert s["containerStatuses"][0]["ready"] is False
    passed = status(p, [sandbox(), record("a")], {"probes": {record("a").id: {"readiness": True}}})
    assert passed["containerStatuses"][0]["ready"] is True
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [a]"


def test_startup_probe_holds_started_and_ready_back() -> None:
    p = pod("a")
    p["spec"]["containers"][0]["startupProbe"] = {"exec": {"command": ["true"]}}  # type: ignore[index]
    cs = status(p, [sandbox(), record("a")])["containerStatuses"][0]
    assert cs["started"] is False and cs["ready"] is False
    probes = {record("a").id: {"startup": True}}
    cs = status(p, [sandbox(), record("a")], {"probes": probes})["containerStatuses"][0]
    assert cs["started"] is True and cs["ready"] is True


@pytest.mark.parametrize("code,reason", [(0, "Completed"), (1, "Error"), (137, "Error")])
def test_terminated_reasons(code: int, reason: str) -> None:
    s = status(pod("a", policy="Never"),
               [sandbox(), record("a", state="exited", exit_code=code,
                                  finished="2026-01-01T00:01:00Z")])
    term = s["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == reason and term["exitCode"] == code
    assert term["finishedAt"] == "2026-01-01T00:01:00Z"


def test_oom_killed_reason() -> None:
    s = status(pod("a", policy="Never"),
               [sandbox(), record("a", state="exited", exit_code=137, oom=True)])
    assert s["containerStatuses"][0]["state"]["terminated"]["reason"] == "OOMKilled"


def test_start_failure_is_container_cannot_run() -> None:
    s = status(pod("a", policy="Never"),
               [sandbox(), record("a", state="created", exit_code=127, error="exec: not found")])
    term = s["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "ContainerCannotRun" and term["message"] == "exec: not found"


@pytest.mark.parametrize("policy,codes,phase", [
    ("Never", [0, 0], "Succeeded"),
    ("Never", [0, 1], "Failed"),
    ("OnFailure", [0, 0], "Succeeded"),
    ("OnFailure", [0, 1], "Running"),
    ("Always", [0, 0], "Running"),
])
def test_phase_of_finished_containers(policy: str, codes: list[int], phase: str) -> None:
    records = [sandbox()] + [record(n, state="exited", exit_code=c)
                             for n, c in zip("ab", codes, strict=True)]
    assert status(pod("a", "b", policy=policy), records)["phase"] == phase


def test_one_running_one_waiting_is_pending() -> None:
    assert status(pod("a", "b"), [sandbox(), record("a")])["phase"] == "Pending"


def test_restart_shows_last_state_and_count() -> None:
    records = [sandbox(), record("a", 0, "exited", 137, finished="2026-01-01T00:05:00Z"),
               record("a", 1, "running", started="2026-01-01T00:05:01Z")]
    cs = status(pod("a"), records)["containerStatuses"][0]
    assert cs["restartCount"] == 1
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    assert cs["state"]["running"]["startedAt"] == "2026-01-01T00:05:01Z"


def test_crash_loop_waiting_keeps_last_termination() -> None:
    state = {"containers": {"a": {"waiting": {"reason": "CrashLoopBackOff", "message": "m"}}}}
    records = [sandbox(), record("a", 2, "exited", 1)]
    cs = status(pod("a"), records, state)["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["restartCount"] == 2


def test_container_statuses_sorted_by_name() -> None:
    s = status(pod("zeta", "alpha"), [sandbox(), record("zeta"), record("alpha")])
    assert [c["name"] for c in s["containerStatuses"]] == ["alpha", "zeta"]


def test_unscheduled_pod_is_pending_with_reason() -> None:
    p = pod("a")
    del p["spec"]["nodeName"]  # type: ignore[attr-defined]
    s = status(p, [], {"scheduling": {"message": "0/1 nodes are available", "since": "t"}})
    assert s["phase"] == "Pending"
    assert s["conditions"] == [{"lastProbeTime": None, "lastTransitionTime": "t",
                                "message": "0/1 nodes are available", "reason": "Unschedulable",
                                "status": "False", "type": "PodScheduled"}]


def test_dead_sandbox_has_no_pod_ip() -> None:
    s = status(pod("a"), [sandbox(running=False), record("a")])
    assert "podIP" not in s


@pytest.mark.parametrize("resources,qos", [
    ([{}], "BestEffort"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}], "Burstable"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}}, {}], "Burstable"),
    ([{"requests": {"memory": "1Gi"}}], "Burstable"),
])
def test_qos_class(resources: list[dict[str, Any]], qos: str) -> None:
    containers = [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]
    assert qos_class({"containers": containers}) == qos


def _sidecar_pod(policy: str = "Always", readiness: bool = False) -> dict[str, Any]:
    p = pod("app", policy=policy)
    side: dict[str, Any] = {"name": "side", "image": "img", "restartPolicy": "Always"}
    if readiness:
        side["readinessProbe"] = {"exec": {"command": ["true"]}}
    p["spec"]["initContainers"] = [side]
    return p


def _conditions(s: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in s["conditions"]}


def test_a_running_sidecar_is_started_ready_and_initializes_the_pod() -> None:
    s = status(_sidecar_pod(), [sandbox(), record("side")])
    side = s["initContainerStatuses"][0]
    assert side["started"] is True and side["ready"] is True and "running" in side["state"]
    assert _conditions(s)["Initialized"] == "True" and s["phase"] == "Pending"
    assert s["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"


def test_an_unready_sidecar_keeps_the_pod_unready() -> None:
    s = status(_sidecar_pod(readiness=True), [sandbox(), record("side"), record("app")])
    assert s["initContainerStatuses"][0]["ready"] is False
    ready = next(c for c in s["conditions"] if c["type"] == "ContainersReady")
    assert ready["status"] == "False"
    assert ready["message"] == "containers with unready status: [side]"


def test_a_pod_is_not_terminal_while_its_sidecar_runs() -> None:
    done = record("app", 0, "exited", 0, finished="2026-01-01T00:01:00Z")
    assert status(_sidecar_pod("Never"), [sandbox(), record("side"), done])["phase"] == \
        "Running"
    side_done = record("side", 0, "exited", 143, finished="2026-01-01T00:01:01Z")
    assert status(_sidecar_pod("Never"), [sandbox(), side_done, done])["phase"] == "Succeeded"
