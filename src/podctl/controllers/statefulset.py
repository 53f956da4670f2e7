"""The StatefulSet controller's plan (upstream's stateful_set_control.go): pods with stable
names `<set>-<ordinal>`, made in order (each only once the one before is Running and Ready)
and removed in reverse under OrderedReady, all at once under Parallel; a rolling update
from the highest ordinal down to the partition, within maxUnavailable; OnDelete leaves
replacing old pods to their users. Pure: a function of the set, its pods, its revisions
and the time."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from podctl.api import meta
from podctl.api.labels import selector_from_label_selector
from podctl.api.meta import Obj
from podctl.controllers.deployment import scaled_value
from podctl.controllers.owners import owner_reference
from podctl.controllers.replication import is_ready, pod_from_template
from podctl.controllers.slowstart import BURST_REPLICAS

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
SOURCE = "statefulset-controller"


def ordinal_of(sts: Obj, pod: Obj) -> int | None:
    """The ordinal in a pod's name `<set>-<n>`, None for a name of another form."""
    found = re.fullmatch(re.escape(meta.name_of(sts)) + r"-(0|[1-9][0-9]*)", meta.name_of(pod))
    return int(found.group(1)) if found else None


def claim_name(template_name: str, sts: Obj, ordinal: int) -> str:
    return f"{template_name}-{meta.name_of(sts)}-{ordinal}"


def claim_templates(sts: Obj) -> list[Obj]:
    return [t for t in sts["spec"].get("volumeClaimTemplates") or [] if isinstance(t, dict)]


def new_pod(sts: Obj, template: Obj, revision: str, ordinal: int) -> Obj:
    """upstream's newVersionedStatefulSetPod: the revision's template, the set's identity
    (name, hostname, subdomain, labels) and a claim volume per claim template."""
    name = f"{meta.name_of(sts)}-{ordinal}"
    pod = pod_from_template({**sts, "spec": {**sts["spec"], "template": template}}, name)
    labels = pod["metadata"].setdefault("labels", {})
    labels[POD_NAME_LABEL] = name
    labels[POD_INDEX_LABEL] = str(ordinal)
    labels[REVISION_LABEL] = revision
    spec = pod["spec"]
    spec["hostname"] = name
    if sts["spec"].get("serviceName"):
        spec["subdomain"] = sts["spec"]["serviceName"]
    claims = {meta.name_of(t): claim_name(meta.name_of(t), sts, ordinal)
              for t in claim_templates(sts)}
    if claims:
        volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in claims]
        volumes += [{"name": volume, "persistentVolumeClaim": {"claimName": claim}}
                    for volume, claim in claims.items()]
        spec["volumes"] = volumes
    return pod


def running_and_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_ready(pod)


def available(pod: Obj, min_ready: int, now: datetime) -> bool:
    """Running and Ready for minReadySeconds."""
    if not running_and_ready(pod):
        return False
    if min_ready == 0:
        return True
    since = _ready_since(pod)
    return since is not None and (now - meta.parse_time(since)).total_seconds() >= min_ready


def terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


@dataclass
class Slot:
    """One wanted ordinal: its pod if there is one, else the revision to make it from."""

    ordinal: int
    pod: Obj | None
    revision: str


@dataclass
class STSPlan:
    create: list[Slot] = field(default_factory=list)  # in order
    delete: list[Obj] = field(default_factory=list)
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)
    status: Obj = field(default_factory=dict)
    # Seconds until a Ready pod has been so for minReadySeconds: no event says it.
    recheck: float | None = None


def claim_pods(sts: Obj, pods: list[Obj], plan: STSPlan) -> list[Obj]:
    """upstream's ClaimPods for a set: of the namespace's pods named for it, the ones it
    controls and matches, and the orphans it matches (adopted); its pods that no longer
    match are released."""
    selector = selector_from_label_selector(sts["spec"].get("selector") or {})
    uid, out = meta.uid_of(sts), []
    for pod in pods:
        if ordinal_of(sts, pod) is None:
            continue
        owner = meta.controller_of(pod)
        matches = selector.matches(meta.labels_of(pod))
        if owner is None and matches and not terminating(pod):
            plan.adopt.append(pod)
            out.append(pod)
        elif owner is not None and owner.get("uid") == uid:
            if matches:
                out.append(pod)
            else:
                plan.release.append(pod)
    return out


@dataclass
class Revs:
    """The names of the set's current and update revisions, and the collision count."""

    current: str
    update: str
    collision_count: int = 0


def _start(sts: Obj) -> int:
    return int((sts["spec"].get("ordinals") or {}).get("start") or 0)


def _partition(sts: Obj) -> int:
    rolling = (sts["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
    return int(rolling.get("partition") or 0)


def _rolling(sts: Obj) -> bool:
    kind = (sts["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate")
    return bool(kind == "RollingUpdate")


def revision_for(sts: Obj, revs: Revs, ordinal: int) -> str:
    """A missing pod's revision: the current one below the partition of a RollingUpdate
    (upstream counts the partition from the first ordinal), else the update one."""
    if _rolling(sts) and ordinal - _start(sts) < _partition(sts):
        return revs.current
    return revs.update


def plan_stateful_set(sts: Obj, pods: list[Obj], revs: Revs, now: datetime,
                      manage: bool = True) -> STSPlan:
    """What one pass must do, given the namespace's pods (status filled). Without `manage` (the
    previous pass's writes are not seen yet) only the status. The wanted ordinals are
    walked lazily and at most BURST_REPLICAS pods are made per pass, so a replica count
    of two billion costs what the pods that exist cost."""
    plan = STSPlan()
    by_ordinal = {o: p for p in claim_pods(sts, pods, plan)
                  if (o := ordinal_of(sts, p)) is not None}
    wanted = _wanted(sts)
    condemned = sorted((p for o, p in by_ordinal.items() if o not in wanted),
                       key=lambda p: -(ordinal_of(sts, p) or 0))
    min_ready = int(sts["spec"].get("minReadySeconds") or 0)
    plan.status = _status(sts, list(by_ordinal.values()), revs, min_ready, now)
    plan.recheck = _recheck(by_ordinal.values(), min_ready, now)
    if manage and _manage(sts, by_ordinal, revs, condemned, min_ready, now, plan) \
            and _rolling(sts):
        _roll(sts, by_ordinal, revs, min_ready, now, plan)
    return plan


def _recheck(pods: Iterable[Obj], min_ready: int, now: datetime) -> float | None:
    waits = [min_ready - (now - meta.parse_time(since)).total_seconds()
             for pod in pods if running_and_ready(pod) and not available(pod, min_ready, now)
             and (since := _ready_since(pod)) is not None]
    return max(min(waits), 0.0) if waits else None


def _ready_since(pod: Obj) -> str | None:
    return next((str(c["lastTransitionTime"]) for c in (pod.get("status") or {}).get(
        "conditions") or [] if c.get("type") == "Ready" and c.get("lastTransitionTime")), None)


def _wanted(sts: Obj) -> range:
    start = _start(sts)
    return range(start, start + int(sts["spec"].get("replicas", 1)))


def _slots(sts: Obj, by_ordinal: dict[int, Obj], revs: Revs) -> Iterator[Slot]:
    for ordinal in _wanted(sts):
        yield Slot(ordinal, by_ordinal.get(ordinal), revision_for(sts, revs, ordinal))


def _healthy(pod: Obj | None, min_ready: int, now: datetime) -> bool:
    return pod is not None and not terminating(pod) and available(pod, min_ready, now)


def _manage(sts: Obj, by_ordinal: dict[int, Obj], revs: Revs, condemned: list[Obj],
            min_ready: int, now: datetime, plan: STSPlan) -> bool:
    """Make the missing pods and remove the surplus ones (upstream's processReplica and
    processCondemned); False when OrderedReady must wait for a pod first, or this pass
    made all the pods it may."""
    ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") != "Parallel"
    for slot in _slots(sts, by_ordinal, revs):
        pod = slot.pod
        if pod is not None and finished(pod) and not terminating(pod):
            plan.delete.append(pod)  # replaced once it is gone
            if ordered:
                return False
            continue
        if pod is None:
            plan.create.append(slot)
            if ordered or len(plan.create) >= BURST_REPLICAS:
                return False
            continue
        if ordered and not _healthy(pod, min_ready, now):
            return False
    unhealthy = next((s.pod for s in _slots(sts, by_ordinal, revs)
                      if not _healthy(s.pod, min_ready, now)), None)
    for pod in condemned:
        if terminating(pod):
            if ordered:
                return False
            continue
        if ordered and unhealthy is not None and not available(pod, min_ready, now):
            return False
        plan.delete.append(pod)
        if ordered:
            return False
    return True


def _roll(sts: Obj, by_ordinal: dict[int, Obj], revs: Revs, min_ready: int, now: datetime,
          plan: STSPlan) -> None:
    """RollingUpdate within maxUnavailable: old pods from the highest ordinal down to the
    partition are deleted (and made again from the update revision), as many at a time as
    the unavailable pods (missing ones included) leave room for."""
    wanted = _wanted(sts)
    rolling = (sts["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
    # upstream's getStatefulSetMaxUnavailable: a percentage rounds down, to 1 at least.
    budget = max(scaled_value(rolling.get("maxUnavailable", 1), len(wanted), round_up=False),
                 1)
    present = {o: p for o, p in by_ordinal.items() if o in wanted}
    unavailable = len(wanted) - len(present) + sum(
        p in plan.delete or not _healthy(p, min_ready, now) for p in present.values())
    room = budget - unavailable
    first = wanted.start + _partition(sts)
    for ordinal in sorted((o for o in present if o >= first), reverse=True):
        if room <= 0:
            return
        pod = present[ordinal]
        if terminating(pod) or pod in plan.delete:
            continue
        if meta.labels_of(pod).get(REVISION_LABEL) != revs.update:
            plan.delete.append(pod)
            room -= 1


def _status(sts: Obj, pods: list[Obj], revs: Revs, min_ready: int, now: datetime) -> Obj:
    """upstream's computeReplicaStatus, and completeRollingUpdate: once every pod is of
    the update revision and Ready, it is the current one."""
    replicas = ready = avail = current = updated = 0
    for pod in pods:
        replicas += 1
        if running_and_ready(pod):
            ready += 1
            avail += available(pod, min_ready, now)
        if not terminating(pod):
            revision = meta.labels_of(pod).get(REVISION_LABEL)
            current += revision == revs.current
            updated += revision == revs.update
    current_name = revs.current
    wanted = int(sts["spec"].get("replicas", 1))
    if _rolling(sts) and updated == ready == replicas == wanted:
        current, current_name = updated, revs.update
    return {"availableReplicas": avail, "collisionCount": revs.collision_count,
            "currentReplicas": current, "currentRevision": current_name,
            "observedGeneration": int(sts["metadata"].get("generation", 1)),
            "readyReplicas": ready, "replicas": replicas, "updateRevision": revs.update,
            "updatedReplicas": updated}


def new_claims(sts: Obj, ordinal: int) -> list[Obj]:
    """upstream's getPersistentVolumeClaims: a claim per template, named for the ordinal,
    labelled with the template's labels and the set's matchLabels."""
    out = []
    selector = dict((sts["spec"].get("selector") or {}).get("matchLabels") or {})
    for template in claim_templates(sts):
        md = template.get("metadata") or {}
        claim: Obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                      "metadata": {"name": claim_name(meta.name_of(template), sts, ordinal),
                                   "namespace": meta.namespace_of(sts),
                                   "labels": {**(md.get("labels") or {}), **selector}},
                      "spec": meta.clone(template.get("spec") or {})}
        if md.get("annotations"):
            claim["metadata"]["annotations"] = dict(md["annotations"])
        out.append(claim)
    return out


def _names(ref: Obj, obj: Obj) -> bool:
    """upstream's matchesRef: the reference names the object's kind and name (an older
    object of that name's reference is stale, and ours to replace)."""
    return ref.get("kind") == obj.get("kind") and ref.get("name") == meta.name_of(obj)


def claim_owner_refs(sts: Obj, claim: Obj, pod: Obj | None) -> list[Obj]:
    """The owner references persistentVolumeClaimRetentionPolicy asks of a claim (upstream's
    updateClaimOwnerRefForSetAndPod): the set as controller when the claim goes with the
    set (whenDeleted: Delete) and its ordinal is kept, the pod as controller once its
    ordinal was scaled away and whenScaled is Delete. References to the set and the pod
    are made again; others are kept, and a claim another object controls gets none."""
    policy = sts["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
    ordinal = int(meta.name_of(claim).rsplit("-", 1)[1])
    start = _start(sts)
    scaled_down = not start <= ordinal < start + int(sts["spec"].get("replicas", 1))
    ours = [sts] + ([pod] if pod is not None else [])
    before = claim["metadata"].get("ownerReferences") or []
    refs = [r for r in before if not any(_names(r, o) for o in ours)]
    if any(r.get("controller") for r in refs):
        return refs  # upstream's hasUnexpectedController
    if policy.get("whenDeleted") == "Delete" and not (
            scaled_down and policy.get("whenScaled") == "Delete"):
        refs.append(owner_reference(sts))
    if scaled_down and policy.get("whenScaled") == "Delete" and pod is not None:
        refs.append(owner_reference(pod))
    return refs
