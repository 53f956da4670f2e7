"""The DaemonSet controller over podctl's one node: whether the node should run the daemon
pod (nodeName, nodeSelector, required node affinity, taints and tolerations), then a pure
plan of creations and deletions, rolling updates included, and its execution."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deployment import template_hash
from podctl.controllers.ownersync import OwnerSync, Pass
from podctl.controllers.podcontrol import create_pods, delete_pods, fresh_name
from podctl.controllers.replication import is_ready, pod_from_template
from podctl.node import ensure_node
from podctl.store import Store

SOURCE = "daemonset-controller"
REVISION_HASH = "controller-revision-hash"
TEMPLATE_GENERATION = "pod-template-generation"
# The tolerations every daemon pod gets (so DaemonSets run on cordoned or pressured nodes).
AUTOMATIC_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
HOST_NETWORK_TOLERATION = ("node.kubernetes.io/network-unavailable", "NoSchedule")


def daemon_tolerations(pod_spec: Obj) -> list[Obj]:
    """The template's tolerations plus the automatic ones it lacks."""
    tolerations: list[Obj] = [dict(t) for t in pod_spec.get("tolerations") or []]
    extra = list(AUTOMATIC_TOLERATIONS)
    if pod_spec.get("hostNetwork"):
        extra.append(HOST_NETWORK_TOLERATION)
    for key, effect in extra:
        if not any(t.get("key") == key and t.get("effect") == effect for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    return tolerations


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """Same key (an empty key with Exists is every key), Equal value or Exists; an empty
    effect matches every effect."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    operator = toleration.get("operator") or "Equal"
    key = toleration.get("key") or ""
    if not key:
        return operator == "Exists"
    if key != taint.get("key"):
        return False
    return operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or "")


def _expression_matches(expression: Obj, values_of: dict[str, str]) -> bool:
    key, operator = str(expression.get("key", "")), expression.get("operator")
    values = [str(v) for v in expression.get("values") or []]
    present = key in values_of
    value = values_of.get(key, "")
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, bound = int(value), int(values[0])
        except ValueError:
            return False
        return have > bound if operator == "Gt" else have < bound
    return False


def _term_matches(term: Obj, node: Obj) -> bool:
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False  # an empty term matches no node
    return (all(_expression_matches(e, meta.labels_of(node)) for e in expressions)
            and all(_expression_matches(f, {"metadata.name": meta.name_of(node)})
                    for f in fields))


def _affinity_matches(pod_spec: Obj, node: Obj) -> bool:
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    return any(_term_matches(t, node) for t in terms)


def node_should_run(ds: Obj, node: Obj) -> tuple[bool, bool]:
    """(should run, should continue running) a daemon pod on the node. A pod whose only
    obstacle is a NoSchedule taint keeps running; NoExecute evicts it."""
    pod_spec = ds["spec"]["template"].get("spec") or {}
    wanted_node = pod_spec.get("nodeName")
    if wanted_node and wanted_node != meta.name_of(node):
        return False, False
    labels = meta.labels_of(node)
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False, False
    if not _affinity_matches(pod_spec, node):
        return False, False
    tolerations = daemon_tolerations(pod_spec)
    untolerated = [t for t in (node.get("spec") or {}).get("taints") or []
                   if t.get("effect") in ("NoSchedule", "NoExecute")
                   and not any(tolerates(tol, t) for tol in tolerations)]
    if not untolerated:
        return True, True
    return False, not any(t.get("effect") == "NoExecute" for t in untolerated)


def _is_zero(value: Any) -> bool:
    return value in (0, "0%", None)


@dataclass
class DSPlan:
    create: bool = False
    delete: list[Obj] = field(default_factory=list)
    failed: list[Obj] = field(default_factory=list)
    status: Obj = field(default_factory=dict)


def _ready_since(pod: Obj) -> datetime | None:
    since = next((c.get("lastTransitionTime") for c in (pod.get("status") or {}).get(
        "conditions") or [] if c.get("type") == "Ready" and c.get("status") == "True"), None)
    return meta.parse_time(since) if since else None


def _available(pod: Obj, min_ready: int, now: datetime) -> bool:
    if not is_ready(pod):
        return False
    since = _ready_since(pod)
    return min_ready == 0 or (since is not None and (now - since).total_seconds() >= min_ready)


def plan_daemon_set(ds: Obj, node: Obj, owned: list[Obj], now: datetime,
                    manage: bool = True) -> DSPlan:
    """What one sync must do on the node, given the DaemonSet's pods (status filled);
    without `manage` (the previous sync's changes are not seen yet) only the status."""
    plan = DSPlan()
    spec = ds["spec"]
    current = template_hash(ds["spec"]["template"])
    min_ready = int(spec.get("minReadySeconds") or 0)
    live = [p for p in owned if not p["metadata"].get("deletionTimestamp")]
    finished = [p for p in live if (p.get("status") or {}).get("phase") in ("Succeeded",
                                                                             "Failed")]
    plan.failed = [p for p in finished if p["status"]["phase"] == "Failed"]
    plan.delete = list(finished)
    running = sorted((p for p in live if p not in finished),
                     key=lambda p: (p["metadata"].get("creationTimestamp", ""), meta.name_of(p)))
    should_run, should_continue = node_should_run(ds, node)
    if not should_run and not should_continue:
        plan.delete += running
    elif should_run:
        strategy = spec.get("updateStrategy") or {}
        new = [p for p in running if meta.labels_of(p).get(REVISION_HASH) == current]
        old = [p for p in running if p not in new]
        if strategy.get("type") == "OnDelete":
            new, old = running, []
        surge = not _is_zero((strategy.get("rollingUpdate") or {}).get("maxSurge"))
        plan.delete += new[1:]  # more than one pod on the node: the oldest stays
        if surge:
            # The new pod starts beside the old one, which goes once it is available.
            if new and _available(new[0], min_ready, now):
                plan.delete += old
            plan.create = not new
        else:
            plan.delete += old
            plan.create = not new
    if not manage:
        plan = DSPlan()
    kept = [p for p in running if p not in plan.delete]
    plan.status = _status(ds, should_run, kept, current, min_ready, now, plan.create)
    return plan


def _status(ds: Obj, should_run: bool, running: list[Obj], current: str, min_ready: int,
            now: datetime, creating: bool) -> Obj:
    desired = 1 if should_run else 0
    scheduled = 1 if running or creating else 0
    ready = [p for p in running if is_ready(p)]
    available = [p for p in running if _available(p, min_ready, now)]
    updated = [p for p in running if meta.labels_of(p).get(REVISION_HASH) == current]
    return {
        "currentNumberScheduled": scheduled if should_run else 0,
        "desiredNumberScheduled": desired,
        "numberAvailable": min(len(available), 1),
        "numberMisscheduled": 0 if should_run else (1 if running else 0),
        "numberReady": min(len(ready), 1),
        "numberUnavailable": max(desired - min(len(available), 1), 0),
        "observedGeneration": int(ds["metadata"].get("generation", 1)),
        "updatedNumberScheduled": 1 if (updated or creating) and should_run else 0,
    }


@dataclass
class Observed:
    node: Obj
    owned: list[Obj]  # its pods
    taken: set[str]  # the namespace's pod names


class DaemonSetSync(OwnerSync[Observed, DSPlan]):
    """One pass over a DaemonSet against the node."""

    kind = "DaemonSet"

    def observe(self, store: Store, owner: Obj) -> Observed:
        node = ensure_node(store)
        uid = meta.uid_of(owner)
        pods = store.list("Pod", meta.namespace_of(owner))
        owned = [p for p in pods if (meta.controller_of(p) or {}).get("uid") == uid]
        return Observed(node, owned, {meta.name_of(p) for p in pods})

    def plan(self, step: Pass[Observed]) -> DSPlan:
        return plan_daemon_set(step.owner, step.observed.node, step.observed.owned, step.now,
                               step.manage)

    def act(self, step: Pass[Observed], plan: DSPlan) -> None:
        store, ds, node, result = step.store, step.owner, step.observed.node, step.result
        for pod in plan.failed:
            store.record_event(ds, "Warning", "FailedDaemonPod",
                               f"Found failed daemon pod {meta.namespace_of(ds)}/"
                               f"{meta.name_of(pod)} on node {meta.name_of(node)}, will try "
                               "to kill it", SOURCE)
        result.deleting = delete_pods(store, ds, plan.delete, step.control, SOURCE)
        created = create_pods(
            store, ds, int(plan.create),
            lambda _: _daemon_pod(ds, node, fresh_name(meta.name_of(ds), step.observed.taken)),
            step.control, SOURCE)
        result.created = created.pods
        result.again(created.retry_in)


def _daemon_pod(ds: Obj, node: Obj, name: str) -> Obj:
    pod = pod_from_template(ds, name)
    labels = pod["metadata"].setdefault("labels", {})
    labels[REVISION_HASH] = template_hash(ds["spec"]["template"])
    labels[TEMPLATE_GENERATION] = str(ds["metadata"].get("generation", 1))
    # One node: bound here, as the scheduler would after the controller's node affinity.
    pod["spec"]["nodeName"] = meta.name_of(node)
    pod["spec"]["tolerations"] = daemon_tolerations(pod["spec"])
    return pod
