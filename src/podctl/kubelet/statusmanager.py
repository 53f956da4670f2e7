"""The kubelet's status manager: a pod's status, generated from what the engine reports, is
written as the registry's status subresource write only when it changed, carrying the
resourceVersion it was read at (again on a fresh read after a conflict). Readers read the
store; each change is one write, so watchers see one MODIFIED event with its own
resourceVersion per change."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import Conflict, DockerUnavailable, NotFound
from podctl.kubelet.status import NodeFacts, compute_status, probe_flags, ready_conditions
from podctl.runtime.records import ContainerRecord
from podctl.store import Store

TERMINAL = ("Succeeded", "Failed")
# Docker may learn that a container was OOM-killed just after it saw the exit: a stored
# SIGKILL exit not marked OOMKilled is asked again for this long after it ended.
OOM_REPORT_LAG = 10.0
READY_TYPES = ("Ready", "ContainersReady")

Generate = Callable[[Obj], Obj]  # the pod as read now -> the status it should have


def reconcile(old: Obj, new: Obj, terminating: bool, now: str) -> Obj:
    """The status to store, from the stored one and one just generated. A terminal phase
    is final and a terminating pod never goes back to Pending (its containers being
    removed is no new start), as the kubelet refuses both; a condition keeps its
    transition time while its status stays, and takes `now` when it changes."""
    old_phase = old.get("phase")
    if old_phase in TERMINAL and new.get("phase") not in TERMINAL:
        return old
    if terminating and new.get("phase") == "Pending" and old_phase not in (None, "Pending"):
        return old
    before = {c.get("type"): c for c in old.get("conditions") or []}
    conditions = []
    for condition in new.get("conditions") or []:
        previous = before.get(condition.get("type"))
        if previous is not None and previous.get("status") == condition.get("status"):
            condition = {**condition, "lastTransitionTime": previous.get("lastTransitionTime")}
        elif previous is not None:
            condition = {**condition, "lastTransitionTime": now}
        conditions.append(condition)
    if "conditions" not in new:
        return new
    return {**new, "conditions": conditions}


def write_status(store: Store, pod: Obj, generate: Generate) -> tuple[Obj | None, bool]:
    """Store the status `generate` gives for the pod as it is now, if it differs from the
    stored one: (the pod as stored, whether this wrote it); None when the pod (that uid)
    is gone."""
    namespace, name, uid = meta.namespace_of(pod), meta.name_of(pod), meta.uid_of(pod)
    while True:
        current = store.get("Pod", namespace, name)
        if current is None or meta.uid_of(current) != uid:
            return None, False
        old = current.get("status") or {}
        new = reconcile(old, generate(current),
                        bool(current["metadata"].get("deletionTimestamp")),
                        meta.now_rfc3339())
        if new == old:
            return current, False
        current["status"] = new
        from podctl import registry  # only a change is written: a settled read needs none

        try:
            return registry.update_status(store, current), True
        except Conflict:
            continue
        except NotFound:
            return None, False


def kubelet_status(records: list[ContainerRecord], state: dict[str, Any],
                   probes: dict[str, dict[str, bool]], node: NodeFacts | None) -> Generate:
    """The status the kubelet generates from the pod's containers and its memory."""
    return lambda pod: compute_status(pod, records, {**state, "probes": probes}, node)


def known_from_status(records: Iterable[ContainerRecord], status: Obj) -> None:
    """Fill, without an inspect, what the stored status already says of containers whose
    state has not moved since: a running container's start, a stopped one's end (both
    fixed once reached). The others still need an inspect."""
    blocks: dict[str, Obj] = {}
    for cs in (status.get("containerStatuses") or []) + (
            status.get("initContainerStatuses") or []):
        for state in (cs.get("state") or {}, cs.get("lastState") or {}):
            for kind in ("running", "terminated"):
                block = state.get(kind)
                cid = (block or {}).get("containerID") or (
                    cs.get("containerID") if kind == "running" else None)
                if block and cid:
                    blocks[str(cid).removeprefix("docker://")] = {kind: block}
    for record in records:
        known = blocks.get(record.id)
        if record.inspected or record.is_sandbox or known is None:
            continue
        if record.running and "running" in known and known["running"].get("startedAt"):
            _fill(record, known["running"]["startedAt"])
        elif record.state in ("exited", "dead") and "terminated" in known:
            block = known["terminated"]
            if _oom_may_follow(block):
                continue
            _fill(record, block.get("startedAt"))
            record.exit_code = block.get("exitCode")
            record.finished_at = block.get("finishedAt")
            record.oom_killed = block.get("reason") == "OOMKilled"
            record.error = str(block.get("message") or "")


def _oom_may_follow(terminated: Obj) -> bool:
    if terminated.get("exitCode") != 137 or terminated.get("reason") == "OOMKilled":
        return False
    finished = terminated.get("finishedAt")
    if not finished:
        return True
    return (datetime.now(UTC) - meta.parse_time(finished)).total_seconds() < OOM_REPORT_LAG


def _fill(record: ContainerRecord, started_at: str | None) -> None:
    record.inspected = True
    record.started_at = started_at
    record.started = meta.parse_time(started_at) if started_at else None


def refresh(store: Store, pods: list[Obj]) -> list[Obj]:
    """With no kubelet running, each pod's status from its node's engine, once: one list
    call per engine, an inspect only of containers the stored status does not describe
    yet, written as the kubelet writes it. Raises DockerUnavailable when the host's engine
    does not answer; the pods of a node container that does not answer keep their stored
    status (no kubelet reports for a node that is down)."""
    from podctl.node import kubelet_engine
    from podctl.runtime import engines

    by_engine: dict[engines.Engine | None, list[Obj]] = {}
    nodes: dict[str, engines.Engine | None] = {}
    for pod in pods:
        node_name = str(pod["spec"].get("nodeName") or "")
        if node_name not in nodes:
            found = kubelet_engine(store, node_name)
            nodes[node_name] = None if found is None else found[1]
        by_engine.setdefault(nodes[node_name], []).append(pod)
    done: dict[str, Obj] = {}
    for engine, group in by_engine.items():
        try:
            with engines.using(engine):
                done.update((meta.uid_of(p), p) for p in _refresh(store, group))
        except DockerUnavailable:
            if engine is None:
                raise
    return [done.get(meta.uid_of(p), p) for p in pods]


def _refresh(store: Store, pods: list[Obj]) -> list[Obj]:
    from podctl.kubelet.node import node_facts
    from podctl.runtime import inventory

    if not pods:
        return pods
    if len(pods) == 1:
        records = inventory.list_containers(meta.uid_of(pods[0]))
    else:
        records = inventory.list_containers()
    grouped = inventory.by_pod(records)
    for pod in pods:
        known_from_status(grouped.get(meta.uid_of(pod), []), pod.get("status") or {})
    uids = {meta.uid_of(p) for p in pods}
    # A sandbox's address and state are in the list itself.
    inventory.inspect(r for r in records if r.pod_uid in uids and not r.is_sandbox)
    facts = {meta.name_of(n): node_facts(n) for n in store.list("Node")}
    states = store.pod_states()
    probes = store.probe_results()
    out = []
    now = meta.now_rfc3339()
    for pod in pods:
        uid = meta.uid_of(pod)
        node = facts.get(pod["spec"].get("nodeName", ""))
        generate = kubelet_status(grouped.get(uid, []), states.get(uid, {}), probes, node)
        old = pod.get("status") or {}
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        if reconcile(old, generate(pod), terminating, now) == old:
            out.append(pod)  # settled: nothing to write, no second read
            continue
        stored, _ = write_status(store, pod, generate)
        out.append(stored or pod)
    return out


def unknown_status(status: Obj, now: str) -> Obj:
    """A started pod's status while the engine does not answer: phase Unknown and not
    ready, as for a pod of an unreachable node; the rest is the last known."""
    out = copy.deepcopy(status)
    out["phase"] = "Unknown"
    for cs in out.get("containerStatuses") or []:
        cs["ready"] = False
    for condition in out.get("conditions") or []:
        if condition.get("type") in READY_TYPES and condition.get("status") != "False":
            condition.update(status="False", lastTransitionTime=now)
    return out


def mark_unknown(store: Store, pods: list[Obj]) -> list[Obj]:
    """The engine does not answer: pods that had started (and have not finished) are
    Unknown, written through the same status write; the others stay as stored."""
    states = store.pod_states()
    out = []
    for pod in pods:
        started = pod["spec"].get("nodeName") and states.get(meta.uid_of(pod), {}).get(
            "startTime")
        if not started or (pod.get("status") or {}).get("phase") in TERMINAL:
            out.append(pod)
            continue
        stored, _ = write_status(store, pod, lambda fresh: unknown_status(
            fresh.get("status") or {}, meta.now_rfc3339()))
        out.append(stored or pod)
    return out


def readiness_status(pod: Obj, probes: dict[str, dict[str, bool]]) -> Obj:
    """The stored status with each container's started/ready flags and the pod's
    readiness conditions redone from its probes' results (no engine call: the prober's
    verdict is all that changed)."""
    status = pod.get("status") or {}
    if status.get("phase") == "Unknown" or not status.get("containerStatuses"):
        return status
    out = copy.deepcopy(status)
    specs = {c["name"]: c for c in pod["spec"].get("containers", [])}
    sidecar_specs = {c["name"]: c for c in pod["spec"].get("initContainers") or []
                     if c.get("restartPolicy") == "Always"}
    statuses = out["containerStatuses"]
    sidecars = [cs for cs in out.get("initContainerStatuses") or []
                if cs["name"] in sidecar_specs]
    for cs in sidecars + statuses:
        spec = specs.get(cs["name"]) if cs in statuses else sidecar_specs[cs["name"]]
        if spec is not None:
            cid = str(cs.get("containerID", "")).removeprefix("docker://")
            cs["started"], cs["ready"] = probe_flags(spec, "running" in (cs.get("state") or {}),
                                                     probes.get(cid, {}))
    ready, containers_ready = ready_conditions(sidecars + statuses, str(out.get("phase")),
                                               str(out.get("startTime") or ""))
    redone = {"Ready": ready, "ContainersReady": containers_ready}
    out["conditions"] = [redone.get(c.get("type"), c) for c in out.get("conditions") or []]
    return out


def set_readiness(store: Store, pod: Obj) -> tuple[Obj | None, bool]:
    """A probe's verdict changed: the pod's readiness, written when it moved."""
    uid = meta.uid_of(pod)
    return write_status(store, pod, lambda fresh: readiness_status(fresh,
                                                                   store.probe_results(uid)))
