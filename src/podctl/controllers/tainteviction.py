"""The taint eviction controller (upstream's pkg/controller/tainteviction): a pod on a node
with NoExecute taints is deleted through the deletion path — at once when it does not
tolerate one of them, else when the shortest tolerationSeconds of the tolerations it
uses runs out (a toleration without tolerationSeconds tolerates forever).

The time runs from the taint's `timeAdded` (the node lifecycle controller and `taint`
stamp theirs), so a controller restarted half-way evicts when the first one would have;
for a taint without one, from when this controller first saw it. `plan_evictions` is pure;
`TaintEviction.run` acts."""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import delete_object
from podctl.controllers.scheduler.taints import node_taints, tolerates
from podctl.errors import NotFound, Precondition
from podctl.store import Store
from podctl.store.db import read_modify_write

log = logging.getLogger("podctl.controller")

SOURCE = "taint-eviction-controller"
REASON = "DeletionByTaintManager"


@dataclass
class Evictions:
    """Pods to delete now, and the seconds until the next one is due (None: none is)."""

    now: list[Obj] = field(default_factory=list)
    next_in: float | None = None


def used_tolerations(tolerations: list[Obj], taints: list[Obj]) -> list[Obj] | None:
    """For each taint the first toleration that tolerates it (upstream's
    GetMatchingTolerations); None when a taint is not tolerated."""
    used = []
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            return None
        used.append(match)
    return used


def toleration_time(used: list[Obj]) -> float | None:
    """The shortest tolerationSeconds among the used tolerations (at most 0: evict at
    once); None when they all tolerate forever."""
    seconds = [int(t["tolerationSeconds"]) for t in used
               if t.get("tolerationSeconds") is not None]
    if not seconds:
        return None
    return float(max(0, min(seconds)))


def plan_evictions(node: Obj, pods: list[Obj], now: datetime) -> Evictions:
    """Which of the node's pods go now. Every NoExecute taint must carry `timeAdded`
    (the caller fills what is missing)."""
    taints = [t for t in node_taints(node) if t.get("effect") == "NoExecute"]
    out = Evictions()
    if not taints:
        return out
    since = max(meta.parse_time(str(t["timeAdded"])) for t in taints)
    for pod in pods:
        if pod["spec"].get("nodeName") != meta.name_of(node) or \
                pod["metadata"].get("deletionTimestamp"):
            continue
        used = used_tolerations(pod["spec"].get("tolerations") or [], taints)
        seconds = 0.0 if used is None else toleration_time(used)
        if seconds is None:
            continue
        # A pod that came after the taints has its whole toleration from its start.
        created = pod["metadata"].get("creationTimestamp")
        start = max(since, meta.parse_time(created)) if created else since
        left = seconds - (now - start).total_seconds()
        if left <= 0:
            out.now.append(pod)
        elif out.next_in is None or left < out.next_in:
            out.next_in = left
    return out


class TaintEviction:
    """Remembers when it first saw a taint that has no timeAdded, and acts."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._first_seen: dict[tuple[str, str, str], str] = {}

    def run(self, now: datetime) -> float | None:
        """Evict what is due on every node; seconds until the next eviction (None: none
        is waiting)."""
        tainted = [node for node in self.store.list("Node")
                   if any(t.get("effect") == "NoExecute" for t in node_taints(node))]
        pods: dict[str, list[Obj]] = {}
        for pod in self.store.list("Pod") if tainted else []:  # most passes read no pod
            pods.setdefault(pod["spec"].get("nodeName") or "", []).append(pod)
        next_in: float | None = None
        seen: dict[tuple[str, str, str], str] = {}
        for node in tainted:
            plan = plan_evictions(self._stamped(node, now, seen),
                                  pods.get(meta.name_of(node), []), now)
            for pod in plan.now:
                self._evict(pod)
            if plan.next_in is not None:
                next_in = plan.next_in if next_in is None else min(next_in, plan.next_in)
        self._first_seen = seen  # a taint gone and back counts again
        return next_in

    def _stamped(self, node: Obj, now: datetime, seen: dict[tuple[str, str, str], str]
                 ) -> Obj:
        """The node with a timeAdded on each NoExecute taint (`seen`: what this pass
        stamped, kept for the next)."""
        taints = []
        for taint in node_taints(node):
            if taint.get("effect") == "NoExecute" and not _valid_time(taint.get("timeAdded")):
                key = (meta.name_of(node), str(taint.get("key")), str(taint.get("value", "")))
                seen[key] = self._first_seen.get(key) or meta.format_time(now)
                taint = {**taint, "timeAdded": seen[key]}
            taints.append(taint)
        return {**node, "spec": {**(node.get("spec") or {}), "taints": taints}}

    def _evict(self, pod: Obj) -> None:
        namespace, name = meta.namespace_of(pod), meta.name_of(pod)
        self.store.record_event(pod, "Normal", "TaintManagerEviction",
                                f"Marking for deletion Pod {namespace}/{name}", SOURCE)
        log.info("taint eviction: deleting pod %s/%s", namespace, name)
        read_modify_write(functools.partial(self.store.get, "Pod", namespace, name),
                          mark_disruption, functools.partial(registry.update_status, self.store),
                          "Pod", name, meta.uid_of(pod))
        with contextlib.suppress(NotFound, Precondition):  # gone, or made again meanwhile
            delete_object(self.store, "Pod", namespace, name, uid=meta.uid_of(pod))


def _valid_time(stamp: object) -> bool:
    """A timeAdded this controller can count from (a client may have written anything)."""
    try:
        meta.parse_time(str(stamp))
    except ValueError:
        return False
    return bool(stamp)


def mark_disruption(pod: Obj) -> bool:
    """The DisruptionTarget condition the taint manager sets before it deletes a pod (as
    upstream's UpdatePodCondition: its time moves only when its status does); whether it
    changed anything."""
    wanted = {"type": "DisruptionTarget", "status": "True", "reason": REASON,
              "message": "Taint manager: deleting due to NoExecute taint"}
    conditions = pod.setdefault("status", {}).setdefault("conditions", [])
    old = next((c for c in conditions if c.get("type") == "DisruptionTarget"), None)
    if old is not None and all(old.get(k) == v for k, v in wanted.items()):
        return False
    since = old.get("lastTransitionTime") if old and old.get("status") == "True" else None
    wanted["lastTransitionTime"] = since or meta.now_rfc3339()
    pod["status"]["conditions"] = [c for c in conditions if c is not old] + [wanted]
    return True
