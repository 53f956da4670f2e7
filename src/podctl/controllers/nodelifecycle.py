"""The node lifecycle controller (upstream's pkg/controller/nodelifecycle): a node whose
kubelet stopped heartbeating (no Lease renewal nor status post) for the grace period gets
its conditions set Unknown; a node that is not Ready is tainted (`unreachable` or
`not-ready`, NoExecute and NoSchedule), and a cordoned one `unschedulable:NoSchedule`;
its pods are marked not Ready. When its kubelet posts Ready again, the taints go.

`plan_node` is the whole decision, a pure function of (node, its Lease, now, grace, when
this controller started watching); `NodeLifecycle.monitor` acts on it, with the
resourceVersion it read, and runs the taint eviction controller after it."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers import tainteviction
from podctl.controllers.deletion import delete_object
from podctl.errors import Conflict, NotFound, Precondition
from podctl.node import ready_status
from podctl.store import Store
from podctl.store.db import read_modify_write

log = logging.getLogger("podctl.controller")

GRACE_PERIOD = 50.0  # --node-monitor-grace-period, upstream's default in 1.37
STARTUP_GRACE_PERIOD = 60.0  # --node-startup-grace-period
MONITOR_PERIOD = 5.0  # --node-monitor-period
LEASE_NAMESPACE = "kube-node-lease"
SOURCE = "node-controller"

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
# The taints this controller owns (key, effect); any other taint is the user's.
OWNED = {(key, effect) for key in (UNREACHABLE, NOT_READY)
         for effect in ("NoExecute", "NoSchedule")} | {(UNSCHEDULABLE, "NoSchedule")}
# The conditions a kubelet posts, which go Unknown with it.
KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
STOPPED = ("NodeStatusUnknown", "Kubelet stopped posting node status.")
NEVER = ("NodeStatusNeverUpdated", "Kubelet never posted node status.")


@dataclass
class NodePlan:
    """What one pass does to one node: conditions and taints to write (None: as they
    are), and its Ready status after the pass."""

    name: str
    ready: str
    conditions: list[Obj] | None = None
    taints: list[Obj] | None = None
    # (reason, message) of the node's events; a NodeNotReady one marks its pods not Ready.
    events: list[tuple[str, str]] = field(default_factory=list)


def last_heartbeat(node: Obj, lease: Obj | None, started: datetime) -> datetime:
    """When the node's kubelet was last heard of: its Lease's renewal or its Ready
    condition's heartbeat, and never before the node was made or this controller started
    watching (upstream gives every node it first sees a full grace period)."""
    moments = [started]
    renewed = ((lease or {}).get("spec") or {}).get("renewTime")
    for stamp in (renewed, _ready_condition(node).get("lastHeartbeatTime"),
                  node["metadata"].get("creationTimestamp")):
        if stamp:
            try:
                moments.append(meta.parse_time(str(stamp)))
            except ValueError:
                continue
    return max(moments)


def _ready_condition(node: Obj) -> Obj:
    return next((c for c in (node.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Ready"), {})


def unknown_conditions(node: Obj, now: str) -> list[Obj] | None:
    """The node's conditions once its kubelet is taken for gone: each kubelet condition
    Unknown (`Kubelet stopped posting node status.`, or `never posted` for one it never
    reported); None when they are all Unknown already."""
    current = list((node.get("status") or {}).get("conditions") or [])
    by_type = {c.get("type"): c for c in current}
    created = node["metadata"].get("creationTimestamp") or now
    changed = False
    out = [c for c in current if c.get("type") not in KUBELET_CONDITIONS]
    for kind in KUBELET_CONDITIONS:
        cond = by_type.get(kind)
        if cond is None:
            reason, message = NEVER
            out.append({"type": kind, "status": "Unknown", "lastHeartbeatTime": created,
                        "lastTransitionTime": now, "reason": reason, "message": message})
            changed = True
        elif cond.get("status") != "Unknown":
            reason, message = STOPPED
            out.append({**cond, "status": "Unknown", "lastTransitionTime": now,
                        "reason": reason, "message": message})
            changed = True
        else:
            out.append(cond)
    return out if changed else None


def wanted_taints(ready: str, unschedulable: bool, disrupted: bool) -> set[tuple[str, str]]:
    """The taints this controller wants on a node: NoExecute for a node not Ready (none
    while every node is down: upstream's full disruption mode evicts nothing, as the
    fault is more likely the controller's own), NoSchedule for it and for a cordoned one."""
    key = {"False": NOT_READY, "Unknown": UNREACHABLE}.get(ready)
    out: set[tuple[str, str]] = set()
    if key is not None:
        out.add((key, "NoSchedule"))
        if not disrupted:
            out.add((key, "NoExecute"))
    if unschedulable:
        out.add((UNSCHEDULABLE, "NoSchedule"))
    return out


def taints_after(node: Obj, wanted: set[tuple[str, str]], now: str) -> list[Obj] | None:
    """The node's taints with the owned ones made `wanted` (a NoExecute one stamped with
    when it was added: evictions count from it); the user's stay as they are. None when
    nothing changes."""
    current = list((node.get("spec") or {}).get("taints") or [])
    kept = [t for t in current
            if (t.get("key"), t.get("effect")) not in OWNED
            or (t.get("key"), t.get("effect")) in wanted]
    have = {(t.get("key"), t.get("effect")) for t in kept}
    added = []
    for key, effect in sorted(wanted - have):
        taint: Obj = {"key": key, "effect": effect}
        if effect == "NoExecute":
            taint["timeAdded"] = now
        added.append(taint)
    out = kept + added
    return out if out != current else None


@dataclass(frozen=True)
class Graces:
    """How long a kubelet may be silent: `monitor` once it posted a Ready condition,
    `startup` before its first (upstream's --node-monitor-grace-period and
    --node-startup-grace-period)."""

    monitor: float = GRACE_PERIOD
    startup: float = STARTUP_GRACE_PERIOD


def conditions_after(node: Obj, lease: Obj | None, now: datetime, graces: Graces,
                     started: datetime) -> list[Obj] | None:
    """The node's conditions to write when its kubelet has been silent past its grace
    period (None: as they are)."""
    grace = graces.monitor if _ready_condition(node) else graces.startup
    if (now - last_heartbeat(node, lease, started)).total_seconds() <= grace:
        return None
    return unknown_conditions(node, meta.format_time(now))


def with_conditions(node: Obj, conditions: list[Obj] | None) -> Obj:
    if conditions is None:
        return node
    return {**node, "status": {**(node.get("status") or {}), "conditions": conditions}}


def plan_node(node: Obj, lease: Obj | None, now: datetime, graces: Graces,
              started: datetime, disrupted: bool = False,
              previous_ready: str | None = None) -> NodePlan:
    """One pass over one node. `previous_ready`: its Ready status at this controller's
    last pass (None: not seen yet), from which a fall out of Ready is told. A node with
    no Ready condition yet (its kubelet starting) is not tainted for it, as upstream's."""
    conditions = conditions_after(node, lease, now, graces, started)
    after = with_conditions(node, conditions)
    ready = ready_status(after)
    unschedulable = bool((node.get("spec") or {}).get("unschedulable"))
    wanted = wanted_taints(ready if _ready_condition(after) else "True", unschedulable,
                           disrupted)
    plan = NodePlan(meta.name_of(node), ready, conditions,
                    taints_after(node, wanted, meta.format_time(now)))
    if previous_ready == "True" and ready != "True":
        plan.events.append(("NodeNotReady", f"Node {plan.name} status is now: NodeNotReady"))
    return plan


def fully_disrupted(readiness: list[str]) -> bool:
    """No node is Ready (and there is one): upstream's full disruption."""
    return bool(readiness) and "True" not in readiness


class NodeLifecycle:
    """Monitors every node each monitor period (and when woken), then runs the taint
    eviction pass, waking again when the next eviction is due."""

    def __init__(self, store: Store, graces: Graces | None = None,
                 period: float = MONITOR_PERIOD) -> None:
        self.store = store
        self.graces = graces or Graces()
        self.period = period
        self.started = datetime.now(UTC)
        self.wake = threading.Event()
        self._ready: dict[str, str] = {}  # node -> its Ready status at the last pass
        self.eviction = tainteviction.TaintEviction(store)

    def run(self, stop: threading.Event) -> None:
        """Until `stop` (whoever sets it sets `wake` too, so no wait outlasts it)."""
        while not stop.is_set():
            self.wake.clear()
            next_eviction = self.monitor(datetime.now(UTC))
            wait = self.period if next_eviction is None else min(self.period, next_eviction)
            self.wake.wait(max(0.05, wait))

    def monitor(self, now: datetime) -> float | None:
        """One pass over every node, then the evictions; seconds until the next one due."""
        nodes = self.store.list("Node")
        leases = {meta.name_of(lease): lease
                  for lease in self.store.list("Lease", LEASE_NAMESPACE)}
        readiness = [ready_status(with_conditions(n, conditions_after(
            n, leases.get(meta.name_of(n)), now, self.graces, self.started))) for n in nodes]
        disrupted = fully_disrupted(readiness)
        for node in nodes:
            name = meta.name_of(node)
            plan = plan_node(node, leases.get(name), now, self.graces, self.started,
                             disrupted, self._ready.get(name))
            try:
                self._act(node, plan)
            except Exception:  # one node's failed write holds up no other node
                log.exception("node %s: its lifecycle pass failed; again next pass", name)
                continue
            self._ready[name] = plan.ready
        self._collect_leases(nodes, leases)
        return self.eviction.run(now)

    def _act(self, node: Obj, plan: NodePlan) -> None:
        if plan.conditions is not None:
            log.info("node %s: kubelet stopped posting node status", plan.name)
            status = {**(node.get("status") or {}), "conditions": plan.conditions}
            try:
                node = registry.update_status(self.store, {**node, "status": status})
            except (Conflict, NotFound):
                return  # its kubelet posted meanwhile: the next pass judges again
        if plan.taints is not None:
            spec = {**(node.get("spec") or {}), "taints": plan.taints}
            if not plan.taints:
                spec.pop("taints")
            try:
                node = registry.update(self.store, {**node, "spec": spec})
            except (Conflict, NotFound):
                return
            log.info("node %s taints: %s", plan.name,
                     ", ".join(f"{t['key']}:{t['effect']}" for t in plan.taints) or "none")
        for reason, message in plan.events:
            self.store.record_event(node, "Normal", reason, message, SOURCE)
        if plan.events:
            mark_pods_not_ready(self.store, plan.name)

    def _collect_leases(self, nodes: list[Obj], leases: dict[str, Obj]) -> None:
        """A deleted node's Lease goes with it (its owner reference, for the garbage
        collector)."""
        names = {meta.name_of(n) for n in nodes}
        for name, lease in leases.items():
            if name not in names:
                with contextlib.suppress(NotFound, Precondition):  # gone, or made again
                    delete_object(self.store, "Lease", LEASE_NAMESPACE, name,
                                  uid=meta.uid_of(lease))


def mark_pods_not_ready(store: Store, node_name: str) -> None:
    """Upstream's MarkPodsNotReady: the Ready condition of every pod on the node False
    (written with the resourceVersion read), each with a `NodeNotReady` event."""
    now = meta.now_rfc3339()
    for pod in store.list("Pod"):
        if pod["spec"].get("nodeName") != node_name or not _set_not_ready(pod, now):
            continue
        name = meta.name_of(pod)
        written = read_modify_write(
            functools.partial(store.get, "Pod", meta.namespace_of(pod), name),
            functools.partial(_set_not_ready, now=now),
            functools.partial(registry.update_status, store), "Pod", name, meta.uid_of(pod))
        if written is not None:
            store.record_event(written, "Warning", "NodeNotReady", "Node is not ready", SOURCE)


def _set_not_ready(pod: Obj, now: str) -> bool:
    """Set the pod's Ready condition False in place; whether it was not already."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") != "False":
            cond["status"] = "False"
            cond["lastTransitionTime"] = now
            return True
    return False


def parse_duration(text: str) -> float:
    """A Go duration (`50s`, `1m30s`, `500ms`, `1h`) in seconds, as the controller
    manager's flags take them. ValueError for anything else."""
    if text == "0":
        return 0.0
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f'time: invalid duration "{text}"')
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                   "h": 3600.0}
