"""Taints and tolerations (upstream's TaintToleration and NodeUnschedulable plugins)."""

from __future__ import annotations

from podctl.api.meta import Obj

UNTOLERATED = "node(s) had untolerated taint(s)"
UNSCHEDULABLE = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
DO_NOT_SCHEDULE = ("NoSchedule", "NoExecute")


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """v1.Toleration.ToleratesTaint: an empty effect or key matches any; Exists ignores the
    value, Equal (the default) compares it."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def tolerated(pod: Obj, taint: Obj) -> bool:
    return any(tolerates(t, taint) for t in _tolerations(pod))


def node_taints(node: Obj) -> list[Obj]:
    taints = (node.get("spec") or {}).get("taints") or []
    return [t for t in taints if isinstance(t, dict)]


def untolerated_do_not_schedule(pod: Obj, node: Obj) -> bool:
    """Whether the node has a NoSchedule or NoExecute taint the pod does not tolerate."""
    return any(t.get("effect") in DO_NOT_SCHEDULE and not tolerated(pod, t)
               for t in node_taints(node))


def unschedulable_blocks(pod: Obj, node: Obj) -> bool:
    """spec.unschedulable (cordon) keeps out pods that do not tolerate its taint."""
    return bool((node.get("spec") or {}).get("unschedulable")) and not tolerated(
        pod, UNSCHEDULABLE_TAINT)


def intolerable_prefer_no_schedule(pod: Obj, node: Obj) -> int:
    """PreferNoSchedule taints not tolerated by the pod's tolerations that have that effect
    or none (the score counts them: fewer is better)."""
    soft = [t for t in _tolerations(pod) if (t.get("effect") or "") in ("", "PreferNoSchedule")]
    return sum(1 for taint in node_taints(node) if taint.get("effect") == "PreferNoSchedule"
               and not any(tolerates(t, taint) for t in soft))


def _tolerations(pod: Obj) -> list[Obj]:
    return [t for t in pod["spec"].get("tolerations") or [] if isinstance(t, dict)]
