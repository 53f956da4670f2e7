"""The disruption controller (upstream's pkg/controller/disruption): each
PodDisruptionBudget's status — how many of its pods are expected, how many must stay
healthy, how many are, and so how many disruptions the eviction may allow now.

minAvailable as an integer counts the selected pods; a percentage, or maxUnavailable, is
taken of the scale of the pods' controllers (an RC's, a ReplicaSet's or its Deployment's, a
StatefulSet's replicas). The pods an eviction let go (status.disruptedPods) count as gone
until they are deleted or two minutes pass. When the expected count cannot be known (a pod
whose controller has no scale), the status fails safe: no disruption allowed, the reason
in a SyncFailed condition."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta

from podctl.api import meta
from podctl.api.labels import selector_from_label_selector
from podctl.api.meta import Obj
from podctl.controllers.deployment import scaled_value
from podctl.controllers.owners import write_status
from podctl.controllers.replication import is_ready
from podctl.store import Store

SOURCE = "controllermanager"
# How long an eviction's pod counts as disrupted before the controller gives up on its
# deletion (upstream's DeletionTimeout).
DELETION_TIMEOUT = timedelta(minutes=2)
CONDITION = "DisruptionAllowed"
SUFFICIENT, INSUFFICIENT, SYNC_FAILED = "SufficientPods", "InsufficientPods", "SyncFailed"
# The kinds whose replicas are a pod's expected scale, as upstream's finders know them.
SCALED_KINDS = ("ReplicationController", "ReplicaSet", "Deployment", "StatefulSet")


class ScaleUnknown(Exception):
    """A selected pod's controller has no scale: the expected count cannot be known."""


@dataclass
class Observed:
    """What the budget's pass reads: its pods and, for each controller they name (by uid),
    its scale, or None when that controller has none."""

    pods: list[Obj]
    scales: dict[str, int | None]


def selects(pdb: Obj, pod: Obj) -> bool:
    """The budget's selector matches the pod (policy/v1: a null selector matches nothing,
    an empty one every pod of the namespace)."""
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None or meta.namespace_of(pod) != meta.namespace_of(pdb):
        return False
    return selector_from_label_selector(selector).matches(meta.labels_of(pod))


def expected_counts(pdb: Obj, observed: Observed) -> tuple[int, int, list[str]]:
    """(expected pods, desired healthy, unmanaged pod names): getExpectedPodCount."""
    spec = pdb.get("spec") or {}
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if max_unavailable is None and (min_available is None or isinstance(min_available, int)):
        return len(observed.pods), int(min_available or 0), []
    expected, unmanaged = _expected_scale(observed)
    if max_unavailable is not None:
        unavailable = scaled_value(max_unavailable, expected, True)
        return expected, max(0, expected - unavailable), unmanaged
    return expected, scaled_value(min_available, expected, True), unmanaged


def _expected_scale(observed: Observed) -> tuple[int, list[str]]:
    scales: dict[str, int] = {}
    unmanaged = []
    for pod in observed.pods:
        ref = meta.controller_of(pod)
        if ref is None:
            unmanaged.append(meta.name_of(pod))
            continue
        uid = str(ref.get("uid"))
        scale = observed.scales.get(uid)
        if scale is None:
            raise ScaleUnknown(f'found no controllers for pod "{meta.name_of(pod)}"')
        scales[uid] = scale
    return sum(scales.values()), unmanaged


def disrupted_pods(pdb: Obj, pods: list[Obj], now: datetime) -> tuple[dict[str, str],
                                                                       datetime | None]:
    """The eviction's entries still pending (their pod not yet deleting, the timeout not
    passed), and when the next one runs out: buildDisruptedPodMap."""
    recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
    kept: dict[str, str] = {}
    recheck: datetime | None = None
    for pod in pods:
        name = meta.name_of(pod)
        if pod["metadata"].get("deletionTimestamp") or name not in recorded:
            continue
        expires = meta.parse_time(recorded[name]) + DELETION_TIMEOUT
        if expires > now:
            kept[name] = recorded[name]
            recheck = expires if recheck is None else min(recheck, expires)
    return kept, recheck


def healthy_count(pods: list[Obj], disrupted: dict[str, str]) -> int:
    return sum(1 for pod in pods if not pod["metadata"].get("deletionTimestamp")
               and meta.name_of(pod) not in disrupted and is_ready(pod))


@dataclass
class Plan:
    status: Obj
    recheck_at: datetime | None = None
    events: tuple[tuple[str, str, str], ...] = ()  # (type, reason, message)


def plan_status(pdb: Obj, observed: Observed, now: datetime) -> Plan:
    """The budget's next status, from its pods and their controllers' scale: a pure
    function of what was read and the time."""
    events: list[tuple[str, str, str]] = []
    if not observed.pods:
        events.append(("Normal", "NoPods", "No matching pods found"))
    try:
        expected, desired, unmanaged = expected_counts(pdb, observed)
    except ScaleUnknown as exc:
        events.append(("Warning", "CalculateExpectedPodCountFailed",
                       f"Failed to calculate the number of expected pods: {exc}"))
        return Plan(_fail_safe(pdb, str(exc), now), None, tuple(events))
    if unmanaged:
        events.append(("Warning", "UnmanagedPods", _unmanaged_message(pdb)))
    disrupted, recheck = disrupted_pods(pdb, observed.pods, now)
    healthy = healthy_count(observed.pods, disrupted)
    allowed = healthy - desired if expected > 0 and healthy > desired else 0
    old = pdb.get("status") or {}
    status: Obj = {"observedGeneration": pdb["metadata"].get("generation", 1),
                   "disruptionsAllowed": allowed, "currentHealthy": healthy,
                   "desiredHealthy": desired, "expectedPods": expected,
                   "conditions": copy.deepcopy(old.get("conditions") or [])}
    if disrupted:
        status["disruptedPods"] = disrupted
    set_allowed_condition(status, now)
    return Plan(status, recheck, tuple(events))


def _unmanaged_message(pdb: Obj) -> str:
    selector = (pdb.get("spec") or {}).get("selector")
    return (f"Pods selected by this PodDisruptionBudget (selector: {_go_selector(selector)}) "
            "were found to be unmanaged. As a result, the status of the PDB cannot be "
            "calculated correctly, which may result in undefined behavior. To account for "
            'these pods please set ".spec.minAvailable" field of the PDB to an integer value.')


def _go_selector(selector: Obj | None) -> str:
    """A *metav1.LabelSelector as Go's %v prints it: &LabelSelector{MatchLabels:map[...],}"""
    if selector is None:
        return "nil"
    labels = "".join(f"{k}: {v}," for k, v in sorted((selector.get("matchLabels") or {})
                                                       .items()))
    expressions = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key')},Operator:{e.get('operator')},"
        f"Values:[{' '.join(e.get('values') or [])}],}},"
        for e in selector.get("matchExpressions") or [])
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}")


def _fail_safe(pdb: Obj, message: str, now: datetime) -> Obj:
    """failSafe: the status as it was, but no disruption allowed and why."""
    status = copy.deepcopy(pdb.get("status") or {})
    status["disruptionsAllowed"] = 0
    status.setdefault("currentHealthy", 0)
    status.setdefault("desiredHealthy", 0)
    status.setdefault("expectedPods", 0)
    _set_condition(status, "False", SYNC_FAILED, message, now)
    return status


def set_allowed_condition(status: Obj, now: datetime) -> None:
    """UpdateDisruptionAllowedCondition: True (SufficientPods) while a disruption is
    allowed, else False (InsufficientPods)."""
    if status.get("disruptionsAllowed", 0) > 0:
        _set_condition(status, "True", SUFFICIENT, "", now)
    else:
        _set_condition(status, "False", INSUFFICIENT, "", now)


def _set_condition(status: Obj, value: str, reason: str, message: str,
                   now: datetime) -> None:
    """meta.SetStatusCondition: the transition time moves only with the status."""
    conditions = status.setdefault("conditions", [])
    current = next((c for c in conditions if c.get("type") == CONDITION), None)
    if current is None:
        current = {"type": CONDITION, "lastTransitionTime": meta.format_time(now)}
        conditions.append(current)
    elif current.get("status") != value:
        current["lastTransitionTime"] = meta.format_time(now)
    current.update(status=value, reason=reason, message=message,
                   observedGeneration=status.get("observedGeneration", 0))


def observe(store: Store, pdb: Obj) -> Observed:
    """The budget's pods and their controllers' scale, read from the store."""
    namespace = meta.namespace_of(pdb)
    pods = [p for p in store.list("Pod", namespace) if selects(pdb, p)]
    scales: dict[str, int | None] = {}
    for pod in pods:
        ref = meta.controller_of(pod)
        if ref is not None and str(ref.get("uid")) not in scales:
            scales[str(ref.get("uid"))] = _scale_of(store, namespace, ref)
    return Observed(pods, scales)


def _scale_of(store: Store, namespace: str, ref: Obj) -> int | None:
    kind = str(ref.get("kind"))
    if kind not in SCALED_KINDS or kind not in meta.RESOURCES:
        return None
    owner = store.get(kind, namespace, str(ref.get("name")))
    if owner is None or meta.uid_of(owner) != ref.get("uid"):
        return None
    if kind == "ReplicaSet":
        # A Deployment's ReplicaSet: the Deployment's scale is the one that counts.
        parent = meta.controller_of(owner)
        if parent is not None and parent.get("kind") == "Deployment":
            return _scale_of(store, namespace, parent)
    return int(owner["spec"].get("replicas", 1))


def sync_pdb(store: Store, namespace: str, name: str,
             now: datetime) -> datetime | None:
    """One pass over a budget; when it should be looked at again (a disrupted pod's
    timeout), or None."""
    for _ in range(3):
        pdb = store.get("PodDisruptionBudget", namespace, name)
        if pdb is None or pdb["metadata"].get("deletionTimestamp"):
            return None
        plan = plan_status(pdb, observe(store, pdb), now)
        if write_status(store, pdb, plan.status):
            for type_, reason, message in plan.events:
                store.record_event(pdb, type_, reason, message, SOURCE)
            return plan.recheck_at
    return None


def budgets_for(store: Store, pod: Obj) -> list[Obj]:
    """The budgets whose selector matches the pod."""
    return [pdb for pdb in store.list("PodDisruptionBudget", meta.namespace_of(pod))
            if selects(pdb, pod)]
