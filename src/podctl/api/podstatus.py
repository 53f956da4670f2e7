"""Pod status as the API defines it, for whoever writes it: a condition's shape, the QoS
class (the API server's, from requests and limits), and the status of a pod no node has
taken, which the scheduler writes and the kubelet's status generation repeats."""

from __future__ import annotations

from typing import Any

from podctl.api.meta import Obj


def condition(type_: str, ok: bool, when: str | None, reason: str = "",
               message: str = "") -> Obj:
    cond: Obj = {"lastProbeTime": None, "lastTransitionTime": when,
                 "status": "True" if ok else "False", "type": type_}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def unscheduled_status(pod: Obj, scheduling: dict[str, Any]) -> Obj:
    """A pod bound to no node: Pending, PodScheduled False since `scheduling["since"]`
    (its creation when the scheduler has said nothing yet), with the scheduler's message."""
    since = scheduling.get("since", pod["metadata"].get("creationTimestamp"))
    return {"conditions": [condition("PodScheduled", False, since, "Unschedulable",
                                     scheduling.get("message", ""))],
            "phase": "Pending", "qosClass": qos_class(pod["spec"])}


def qos_class(spec: Obj) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    containers = list(spec.get("containers", [])) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        if limits or requests:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name, limits[name])) != str(limits[name]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
