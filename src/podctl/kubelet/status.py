"""Pod status as a pure function of (pod, Docker's containers, kubelet state, now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from podctl.api.meta import Obj
from podctl.api.podstatus import condition as _condition
from podctl.api.podstatus import qos_class, unscheduled_status
from podctl.runtime.records import ContainerRecord


@dataclass(frozen=True)
class NodeFacts:
    name: str
    host_ip: str


def latest_by_container(records: list[ContainerRecord]) -> dict[str, list[ContainerRecord]]:
    """App container records per spec name, newest attempt first."""
    out: dict[str, list[ContainerRecord]] = {}
    for record in records:
        if not record.is_sandbox:
            out.setdefault(record.container, []).append(record)
    for attempts in out.values():
        attempts.sort(key=lambda r: (r.attempt, r.created), reverse=True)
    return out


def current_sandbox(records: list[ContainerRecord]) -> ContainerRecord | None:
    sandboxes = [r for r in records if r.is_sandbox]
    if not sandboxes:
        return None
    return max(sandboxes, key=lambda r: (r.attempt, r.created))


def terminated_state(record: ContainerRecord) -> Obj:
    """The `terminated` block for a container that has stopped (dockershim reasons)."""
    if record.state == "created" and record.error:
        reason, code = "ContainerCannotRun", record.exit_code if record.exit_code else 128
    elif record.oom_killed:
        reason, code = "OOMKilled", record.exit_code if record.exit_code is not None else 137
    else:
        code = record.exit_code if record.exit_code is not None else 0
        reason = "Completed" if code == 0 else "Error"
    block: Obj = {"exitCode": code, "reason": reason}
    if record.error:
        block["message"] = record.error
    block["startedAt"] = record.started_at
    block["finishedAt"] = record.finished_at
    block["containerID"] = f"docker://{record.id}"
    return {"terminated": block}


def is_stopped(record: ContainerRecord) -> bool:
    return record.state in ("exited", "dead") or (record.state == "created" and bool(record.error))


def container_status(
    spec: Obj, attempts: list[ContainerRecord], cstate: dict[str, Any],
    probes: dict[str, dict[str, bool]] | None = None, not_started: str = "ContainerCreating",
) -> Obj:
    """One entry of status.containerStatuses; `not_started` is the waiting reason of a
    container that does not exist yet (PodInitializing while init containers run)."""
    latest = attempts[0] if attempts else None
    previous = next((r for r in attempts[1:] if is_stopped(r)), None)
    waiting = cstate.get("waiting")
    status: Obj = {"name": spec["name"], "image": spec["image"], "imageID": ""}
    last: Obj = {}
    if latest is None:
        state: Obj = {"waiting": waiting or {"reason": not_started}}
    elif latest.running:
        state = {"running": {"startedAt": latest.started_at}}
        if previous is not None:
            last = terminated_state(previous)
    elif is_stopped(latest):
        if waiting:
            state, last = {"waiting": dict(waiting)}, terminated_state(latest)
        else:
            state = terminated_state(latest)
            if previous is not None:
                last = terminated_state(previous)
    else:
        state = {"waiting": waiting or {"reason": "ContainerCreating"}}
        if previous is not None:
            last = terminated_state(previous)
    running = "running" in state
    passed = (probes or {}).get(latest.id, {}) if latest is not None else {}
    started, ready = probe_flags(spec, running, passed)
    if latest is not None:
        status["imageID"] = f"docker://{latest.image_id}" if latest.image_id else ""
        status["containerID"] = f"docker://{latest.id}"
    status.update({
        "lastState": last,
        "ready": ready,
        "restartCount": latest.attempt if latest else int(cstate.get("restartCount", 0)),
        "started": started,
        "state": state,
    })
    return status


def pod_phase(restart_policy: str, statuses: list[Obj]) -> str:
    """The kubelet's getPhase over regular containers."""
    waiting = running = stopped = succeeded = 0
    for cs in statuses:
        state = cs["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif cs.get("lastState", {}).get("terminated"):
            stopped += 1
        else:
            waiting += 1
    if waiting > 0:
        return "Pending"
    if running > 0:
        return "Running"
    if stopped > 0:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "OnFailure":
            return "Running"
        return "Failed"
    return "Pending"


def compute_status(
    pod: Obj,
    records: list[ContainerRecord],
    state: dict[str, Any],
    node: NodeFacts | None,
    now: datetime | None = None,
) -> Obj:
    """The Kubernetes status block for a pod; `state` is the kubelet's memory of it, with
    "probes" mapping container ids to their passing readiness/startup probes."""
    spec = pod["spec"]
    created = pod["metadata"].get("creationTimestamp")
    if not spec.get("nodeName"):
        return unscheduled_status(pod, state.get("scheduling") or {})
    if node is None:  # bound to a node that does not exist: nothing will run it
        return {"conditions": [_condition("PodScheduled", True, created)], "phase": "Pending",
                "qosClass": qos_class(spec)}
    by_name = latest_by_container(records)
    cstates = state.get("containers") or {}
    probes = state.get("probes") or {}
    inits = spec.get("initContainers") or []
    init_statuses = [
        _init_status(c, container_status(c, by_name.get(c["name"], []),
                                         cstates.get(c["name"], {}), probes,
                                         not_started="PodInitializing"))
        for c in inits
    ]
    sidecars = [s for c, s in zip(inits, init_statuses, strict=True) if _is_sidecar(c)]
    regular_started = any(by_name.get(c["name"]) for c in spec.get("containers", []))
    uninitialized = [] if regular_started else [
        s["name"] for c, s in zip(inits, init_statuses, strict=True)
        if not (s["started"] if _is_sidecar(c) else s["ready"])]
    statuses = [
        container_status(c, by_name.get(c["name"], []), cstates.get(c["name"], {}), probes,
                         "PodInitializing" if uninitialized else "ContainerCreating")
        for c in spec.get("containers", [])
    ]
    statuses.sort(key=lambda s: str(s["name"]))
    policy = spec.get("restartPolicy", "Always")
    if uninitialized:
        failed = policy == "Never" and any(
            (s["state"].get("terminated") or {}).get("exitCode", 0) != 0
            for c, s in zip(inits, init_statuses, strict=True) if not _is_sidecar(c))
        phase = "Failed" if failed else "Pending"
    else:
        phase = pod_phase(policy, statuses)
    if phase in ("Succeeded", "Failed") and any("running" in s["state"] for s in sidecars):
        # Not terminal while a sidecar is still being stopped: the phase it had before.
        phase = "Pending" if uninitialized else "Running"
    sandbox = current_sandbox(records)
    pod_ip = sandbox.ip if sandbox is not None and sandbox.running else ""
    if sandbox is not None and sandbox.running and spec.get("hostNetwork"):
        pod_ip = node.host_ip  # a host-network pod has the node's address
    status: Obj = {
        "conditions": _conditions(pod, sidecars + statuses, phase, sandbox, state,
                                  uninitialized),
        "phase": phase,
        "qosClass": qos_class(spec),
    }
    status["hostIP"] = node.host_ip
    status["hostIPs"] = [{"ip": node.host_ip}]
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    status["startTime"] = state.get("startTime") or created
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    return status


def _is_sidecar(spec: Obj) -> bool:
    return spec.get("restartPolicy") == "Always"


def _init_status(spec: Obj, status: Obj) -> Obj:
    """Init containers are ready once they exited 0; sidecars are started and ready as
    app containers are, by their probes."""
    if _is_sidecar(spec):
        return status
    terminated = status["state"].get("terminated") or {}
    status["ready"] = bool(terminated) and terminated.get("exitCode") == 0
    status["started"] = "running" in status["state"]
    return status


def _conditions(pod: Obj, statuses: list[Obj], phase: str, sandbox: ContainerRecord | None,
                state: dict[str, Any], uninitialized: list[str]) -> list[Obj]:
    created = pod["metadata"].get("creationTimestamp")
    started = state.get("startTime") or created
    ready, containers_ready = ready_conditions(statuses, phase, started)
    sandbox_ready = sandbox is not None and sandbox.running
    if uninitialized:
        initialized = _condition("Initialized", False, started, "ContainersNotInitialized",
                                 f"containers with incomplete status: [{' '.join(uninitialized)}]")
    else:
        initialized = _condition("Initialized", True, started)
    return [
        _condition("PodReadyToStartContainers", sandbox_ready, started),
        initialized,
        ready,
        containers_ready,
        _condition("PodScheduled", True, created),
    ]


def ready_conditions(statuses: list[Obj], phase: str, started: str
                     ) -> tuple[Obj, Obj]:
    """The Ready and ContainersReady conditions of a pod whose containers are `statuses`."""
    unready = [s["name"] for s in statuses if not s["ready"]]
    ready_since = max((s["state"]["running"]["startedAt"] or started for s in statuses
                       if "running" in s["state"]), default=started)
    if phase in ("Succeeded", "Failed"):
        return (_condition("Ready", False, ready_since, "PodCompleted"),
                _condition("ContainersReady", False, ready_since, "PodCompleted"))
    if unready:
        message = f"containers with unready status: [{' '.join(unready)}]"
        return (_condition("Ready", False, ready_since, "ContainersNotReady", message),
                _condition("ContainersReady", False, ready_since, "ContainersNotReady",
                           message))
    return (_condition("Ready", True, ready_since),
            _condition("ContainersReady", True, ready_since))


def probe_flags(spec: Obj, running: bool, passed: dict[str, bool]) -> tuple[bool, bool]:
    """(started, ready) of a container from its probes' results so far."""
    started = running and (not spec.get("startupProbe") or passed.get("startup") is True)
    ready = started and (not spec.get("readinessProbe") or passed.get("readiness") is True)
    return started, ready
