"""The replication controller: keep `replicas` active pods matching an RC's selector,
adopting orphans, releasing pods whose labels no longer match, ranking surplus pods for
deletion as Kubernetes does. ReplicaSets are the same controller (Kubernetes' RC controller
wraps the ReplicaSet one); only the selector's form and the events' source differ."""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from podctl import registry
from podctl.api import crd, meta
from podctl.api.labels import Selector, selector_from_label_selector, selector_from_map
from podctl.api.managedfields.writer import Writer
from podctl.api.meta import Obj
from podctl.controllers.owners import owner_reference
from podctl.controllers.slowstart import BURST_REPLICAS
from podctl.store import Store

# The kinds this controller keeps replicas of, and the source of their events.
SOURCES = {"ReplicationController": "replication-controller",
           "ReplicaSet": "replicaset-controller"}
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


def set_replicas(store: Store, kind: str, namespace: str, name: str,
                 replicas: int, writer: Writer | None = None) -> int | None:
    """Scale an RC, ReplicaSet or Deployment (its generation moves when the count does), or
    a custom resource along its definition's specReplicasPath (its strategy moves the
    generation); the count before, None when there is no such object. `writer`: the scale
    request's."""
    before: int | None = None
    path = crd.spec_replicas_path(crd.DEFINITIONS[kind]) if kind in crd.DEFINITIONS else None

    def change(owner: Obj) -> bool:
        nonlocal before
        if path is not None:
            current = crd.path_value(owner, path)
            before = int(current) if isinstance(current, int | float) else 0
            if current == replicas:
                return False
            crd.set_path(owner, path, replicas)
            return True
        before = int(owner["spec"].get("replicas") or 0)
        if owner["spec"].get("replicas") == replicas:
            return False
        owner["spec"]["replicas"] = replicas
        owner["metadata"]["generation"] = int(owner["metadata"].get("generation", 1)) + 1
        return True

    if registry.mutate(store, kind, namespace, name, change, writer=writer) is None:
        return None
    return before


def event_source(owner: Obj) -> str:
    return SOURCES[owner["kind"]]


def selector_of(owner: Obj) -> Selector:
    """An RC's equality map, or an apps/v1 LabelSelector (matchLabels, matchExpressions)."""
    selector = owner["spec"].get("selector") or {}
    if owner["kind"] == "ReplicationController":
        return selector_from_map(selector)
    return selector_from_label_selector(selector)


def generate_name(base: str, taken: set[str], rng: random.Random | None = None) -> str:
    """`<base>-` plus five random characters, as generateName does (base cut to 58)."""
    rng = rng or random.Random()
    prefix = f"{base}-"[:meta.GENERATED_PREFIX_MAX]
    while True:
        name = prefix + "".join(rng.choice(meta.NAME_ALPHABET) for _ in range(5))
        if name not in taken:
            return name


def pod_from_template(rc: Obj, name: str) -> Obj:
    """A new pod from the RC's template, owned by the RC."""
    template = copy.deepcopy(rc["spec"]["template"])
    md = template.get("metadata") or {}
    pod_md: Obj = {"name": name, "generateName": f"{meta.name_of(rc)}-",
                   "namespace": meta.namespace_of(rc), "ownerReferences": [owner_reference(rc)]}
    for key in ("labels", "annotations"):
        if md.get(key):
            pod_md[key] = dict(md[key])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_md, "spec": template["spec"]}


def is_active(pod: Obj) -> bool:
    """Counts toward replicas: not deleting and not finished."""
    phase = (pod.get("status") or {}).get("phase")
    return not pod["metadata"].get("deletionTimestamp") and phase not in ("Succeeded", "Failed")


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


@dataclass
class RCPlan:
    """What one sync of an RC must do to its pods."""

    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)
    create: int = 0
    delete: list[Obj] = field(default_factory=list)
    active: list[Obj] = field(default_factory=list)  # owned, matching, active (before changes)
    status: Obj = field(default_factory=dict)  # the RC's status once the plan is carried out

    @property
    def kept(self) -> list[Obj]:
        """The active pods the plan keeps."""
        return [p for p in self.active if p not in self.delete]


def concerns(rc: Obj, pod: Obj) -> bool:
    """Whether plan_rc looks at the pod at all: the RC's own pods and orphans it selects
    (the status of any other pod need not be computed)."""
    owner = meta.controller_of(pod)
    if owner is not None:
        return bool(owner.get("uid") == meta.uid_of(rc))
    return selector_of(rc).matches(meta.labels_of(pod))


def plan_rc(rc: Obj, pods: list[Obj], now: datetime, manage: bool = True) -> RCPlan:
    """Compare an RC or ReplicaSet with its namespace's pods (status filled) at `now`, and
    decide. Without `manage` (the previous sync's changes are not seen yet) it only adopts
    and releases; creations and deletions are at most a burst each."""
    plan = RCPlan()
    uid = meta.uid_of(rc)
    selector = selector_of(rc)
    for pod in pods:
        owner = meta.controller_of(pod)
        matches = selector.matches(meta.labels_of(pod))
        deleting = bool(pod["metadata"].get("deletionTimestamp"))
        if owner is None:
            if matches and not deleting and is_active(pod):
                plan.adopt.append(pod)
                plan.active.append(pod)
        elif owner.get("uid") == uid:
            if not matches:
                plan.release.append(pod)
            elif is_active(pod):
                plan.active.append(pod)
    wanted = int(rc["spec"].get("replicas", 1))
    diff = len(plan.active) - wanted if manage else 0
    if diff < 0:
        plan.create = min(-diff, BURST_REPLICAS)
    elif diff > 0:
        ranked = sorted(plan.active, key=lambda p: deletion_rank(p, now))
        plan.delete = ranked[:min(diff, BURST_REPLICAS)]
    plan.status = rc_status(rc, plan.kept, now, new_pods=plan.create)
    return plan


_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_rank(pod: Obj, now: datetime) -> tuple[Any, ...]:
    """Sort key: pods to delete first come first (ActivePodsWithRanks ordering)."""
    status = pod.get("status") or {}
    ready = is_ready(pod)
    ready_since = next((c.get("lastTransitionTime") for c in status.get("conditions") or []
                        if c.get("type") == "Ready"), None)
    ready_for = _log_age(ready_since, now) if ready and ready_since else 0.0
    cost = int((pod["metadata"].get("annotations") or {}).get(DELETION_COST, 0) or 0)
    restarts = sum(int(c.get("restartCount", 0)) for c in status.get("containerStatuses") or [])
    created = pod["metadata"].get("creationTimestamp") or ""
    return (
        bool(pod["spec"].get("nodeName")),
        _PHASE_ORDER.get(status.get("phase", "Pending"), 3),
        ready,
        cost,
        ready_for,
        -restarts,
        _negated(created),
        meta.uid_of(pod),
    )


def _log_age(timestamp: str, now: datetime) -> float:
    """Recent releases compare how long pods were ready on a log scale (coarse buckets)."""
    seconds = max(1.0, (now - meta.parse_time(timestamp)).total_seconds())
    return float(math.floor(math.log2(seconds)))


def _negated(timestamp: str) -> tuple[int, ...]:
    """Newer first: invert each character code of an RFC 3339 timestamp."""
    return tuple(-ord(ch) for ch in timestamp)


def rc_status(rc: Obj, owned_active: list[Obj], now: datetime, new_pods: int = 0) -> Obj:
    """status.replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, generation;
    `new_pods` just made from the template count as fully labelled and not ready."""
    template_labels = (rc["spec"]["template"].get("metadata") or {}).get("labels") or {}
    min_ready = int(rc["spec"].get("minReadySeconds", 0))
    full = [p for p in owned_active
            if all(meta.labels_of(p).get(k) == v for k, v in template_labels.items())]
    ready = [p for p in owned_active if is_ready(p)]
    available = [p for p in ready if _ready_for(p, now) >= min_ready]
    return {
        "availableReplicas": len(available),
        "fullyLabeledReplicas": len(full) + new_pods,
        "observedGeneration": int(rc["metadata"].get("generation", 1)),
        "readyReplicas": len(ready),
        "replicas": len(owned_active) + new_pods,
    }


def _ready_for(pod: Obj, now: datetime) -> float:
    since = next((c.get("lastTransitionTime") for c in (pod.get("status") or {}).get(
        "conditions") or [] if c.get("type") == "Ready"), None)
    if not since:
        return 0.0
    return (now - meta.parse_time(since)).total_seconds()
