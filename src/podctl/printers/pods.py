"""kubectl's pod columns: READY, STATUS (printPod), RESTARTS, AGE, and the wide ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api.meta import Obj, parse_time
from podctl.printers.age import age, human_duration

POD_HEADERS = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
POD_WIDE_HEADERS = ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]


def pod_status_text(pod: Obj) -> str:
    """The STATUS column exactly as kubectl's printPod derives it."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
           for c in status.get("conditions") or []):
        reason = "SchedulingGated"
    init_reason = _init_status_text(pod)
    if init_reason is not None:
        if not _is_initialized(pod):
            return _deleting(pod, init_reason)
        reason = init_reason  # a sidecar's trouble after initialization, as kubectl shows
    statuses = list(status.get("containerStatuses") or [])
    has_running = False
    for cs in reversed(statuses):
        state: dict[str, Any] = cs.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated:
            if terminated.get("signal"):
                reason = f"Signal:{terminated['signal']}"
            else:
                reason = f"ExitCode:{terminated.get('exitCode', 0)}"
        elif "running" in state and cs.get("ready"):
            has_running = True
    if reason == "Completed" and has_running:
        reason = "Running" if _is_ready(pod) else "NotReady"
    return _deleting(pod, str(reason))


def _init_status_text(pod: Obj) -> str | None:
    """`Init:1/2`, `Init:Error`, `Init:CrashLoopBackOff`... while init containers are not
    all done; None once they are."""
    init = (pod.get("status") or {}).get("initContainerStatuses") or []
    sidecars = _sidecar_names(pod)
    total = len((pod.get("spec") or {}).get("initContainers") or []) or len(init)
    for index, cs in enumerate(init):
        state: dict[str, Any] = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if cs.get("name") in sidecars and cs.get("started"):
            continue
        if terminated:
            if terminated.get("reason"):
                return f"Init:{terminated['reason']}"
            if terminated.get("signal"):
                return f"Init:Signal:{terminated['signal']}"
            return f"Init:ExitCode:{terminated.get('exitCode')}"
        if waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return f"Init:{waiting['reason']}"
        return f"Init:{index}/{total}"
    return None


def _sidecar_names(pod: Obj) -> set[str]:
    """Init containers with restartPolicy Always (native sidecars)."""
    return {c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []
            if c.get("restartPolicy") == "Always"}


def _is_initialized(pod: Obj) -> bool:
    return any(c.get("type") == "Initialized" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _deleting(pod: Obj, reason: str) -> str:
    status = pod.get("status") or {}
    if pod.get("metadata", {}).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            return "Unknown"
        if status.get("phase") not in ("Succeeded", "Failed"):
            return "Terminating"
    return reason


def _is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def ready_text(pod: Obj) -> str:
    """Ready regular containers and started, ready sidecars, over both."""
    status = pod.get("status") or {}
    sidecars = _sidecar_names(pod)
    total = len(pod.get("spec", {}).get("containers") or []) + len(sidecars)
    ready = sum(1 for cs in status.get("containerStatuses") or []
                if cs.get("ready") and "running" in (cs.get("state") or {}))
    ready += sum(1 for cs in status.get("initContainerStatuses") or []
                 if cs.get("name") in sidecars and cs.get("started") and cs.get("ready"))
    return f"{ready}/{total}"


def restarts_text(pod: Obj, now: datetime) -> str:
    """Restarts with the age of the newest, as printPod counts them: while initializing,
    the init containers' up to the one in progress; once initialized, the sidecars' and
    the app containers'."""
    status = pod.get("status") or {}
    sidecars = _sidecar_names(pod)
    counted: list[Obj] = []
    for cs in status.get("initContainerStatuses") or []:
        counted.append(cs)
        state: dict[str, Any] = cs.get("state") or {}
        if (state.get("terminated") or {}).get("exitCode") == 0 and "terminated" in state:
            continue
        if cs.get("name") in sidecars and cs.get("started"):
            continue
        break
    if _init_status_text(pod) is None or _is_initialized(pod):
        counted = [cs for cs in counted if cs.get("name") in sidecars]
        counted += status.get("containerStatuses") or []
    total = 0
    newest: datetime | None = None
    for cs in counted:
        total += int(cs.get("restartCount", 0))
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if finished and (newest is None or parse_time(finished) > newest):
            newest = parse_time(finished)
    if total and newest:
        return f"{total} ({human_duration((now - newest).total_seconds())} ago)"
    return str(total)


def pod_row(pod: Obj, now: datetime, wide: bool = False) -> list[str]:
    md = pod["metadata"]
    row = [md["name"], ready_text(pod), pod_status_text(pod), restarts_text(pod, now),
           age(md.get("creationTimestamp"), now)]
    if wide:
        status = pod.get("status") or {}
        gates = pod["spec"].get("readinessGates") or []
        row += [status.get("podIP") or "<none>", pod["spec"].get("nodeName") or "<none>",
                status.get("nominatedNodeName") or "<none>",
                ",".join(g.get("conditionType", "") for g in gates) or "<none>"]
    return row
