"""The deployment controller's decisions, pure: which ReplicaSet is new (pod-template-hash),
how far a RollingUpdate or Recreate rollout may move in one step, the Deployment's status and
conditions, and which old ReplicaSets history no longer keeps (K pkg/controller/deployment)."""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from podctl.api import meta
from podctl.api.labels import selector_from_label_selector
from podctl.api.meta import Obj
from podctl.controllers.owners import owner_reference

SOURCE = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Annotations of the Deployment that are not copied onto its ReplicaSets.
NOT_COPIED = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS})
# SafeEncodeString's alphabet: no vowels, no confusable characters.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
PERCENT = re.compile(r"[0-9]+%")


def template_hash(template: Obj, collision_count: int = 0) -> str:
    """FNV-1a (32 bit) of the canonical template plus the collision count, its decimal
    digits mapped onto SAFE_ALPHABET as Kubernetes' ComputeHash does (Kubernetes hashes a Go
    dump, so the values differ; the form and stability are the same)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    data += collision_count.to_bytes(8, "little")
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(SAFE_ALPHABET[ord(ch) % len(SAFE_ALPHABET)] for ch in str(value))


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent (`25%`) of `total`: GetScaledValueFromIntOrPercent."""
    if isinstance(value, int):
        return value
    text = str(value)
    if not PERCENT.fullmatch(text):
        raise ValueError(f"invalid value for IntOrString: {text}")
    exact = int(text[:-1]) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def fenceposts(deployment: Obj) -> tuple[int, int]:
    """(max surge, max unavailable) in pods: surge rounds up, unavailable down; never both 0."""
    spec = deployment["spec"]
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    replicas = int(spec.get("replicas", 1))
    surge = scaled_value(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def without_hash(template: Obj) -> Obj:
    out = copy.deepcopy(template)
    labels = (out.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return out


def revision_of(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _replicas(rs: Obj) -> int:
    return int(rs["spec"].get("replicas", 0))


def _status(rs: Obj, key: str) -> int:
    return int((rs.get("status") or {}).get(key, 0))


@dataclass
class Scale:
    """Set one ReplicaSet's spec.replicas (and its scaling annotations)."""

    rs: Obj
    replicas: int
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class DeploymentPlan:
    """What one sync of a Deployment must do; `status` once done."""

    adopt: list[Obj] = field(default_factory=list)
    create: Obj | None = None  # a new ReplicaSet
    scale: list[Scale] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)  # old ReplicaSets past the history limit
    revision: str = ""  # the Deployment's revision annotation
    status: Obj = field(default_factory=dict)
    events: list[str] = field(default_factory=list)  # Normal ScalingReplicaSet messages


def owned_replica_sets(deployment: Obj, replica_sets: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(owned, orphans to adopt): ReplicaSets the Deployment controls, and matching ones
    nobody controls."""
    uid = meta.uid_of(deployment)
    selector = selector_from_label_selector(deployment["spec"].get("selector"))
    owned, adopt = [], []
    for rs in replica_sets:
        if rs["metadata"].get("deletionTimestamp"):
            continue
        owner = meta.controller_of(rs)
        if owner is not None and owner.get("uid") == uid:
            owned.append(rs)
        elif owner is None and not selector.is_empty() and selector.matches(meta.labels_of(rs)):
            adopt.append(rs)
    return owned + adopt, adopt


def new_replica_set(deployment: Obj, owned: list[Obj]) -> Obj | None:
    """The oldest owned ReplicaSet whose template is the Deployment's, hash label aside."""
    wanted = without_hash(deployment["spec"]["template"])
    same = [rs for rs in owned if without_hash(rs["spec"]["template"]) == wanted]
    same.sort(key=lambda rs: (rs["metadata"].get("creationTimestamp", ""), meta.name_of(rs)))
    return same[0] if same else None


def replica_set_for(deployment: Obj, owned: list[Obj], replicas: int, revision: int,
                    surge: int) -> Obj:
    """A new ReplicaSet `<deployment>-<hash>` for the current template."""
    spec = deployment["spec"]
    taken = {meta.name_of(rs) for rs in owned}
    collisions = int((deployment.get("status") or {}).get("collisionCount", 0))
    while True:
        digest = template_hash(spec["template"], collisions)
        name = f"{meta.name_of(deployment)}-{digest}"
        if name not in taken:
            break
        collisions += 1
    template = copy.deepcopy(spec["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = digest
    selector = copy.deepcopy(spec["selector"])
    selector.setdefault("matchLabels", {})[HASH_LABEL] = digest
    annotations = {k: v for k, v in (deployment["metadata"].get("annotations") or {}).items()
                   if k not in NOT_COPIED}
    annotations.update({REVISION: str(revision), DESIRED: str(spec.get("replicas", 1)),
                        MAX_REPLICAS: str(int(spec.get("replicas", 1)) + surge)})
    labels = dict(template["metadata"]["labels"])
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": meta.namespace_of(deployment),
                     "labels": labels, "annotations": annotations,
                     "ownerReferences": [owner_reference(deployment)]},
        "spec": {"replicas": replicas, "minReadySeconds": int(spec.get("minReadySeconds", 0)),
                 "selector": selector, "template": template},
    }


def _scaling_annotations(deployment: Obj, surge: int) -> dict[str, str]:
    replicas = int(deployment["spec"].get("replicas", 1))
    return {DESIRED: str(replicas), MAX_REPLICAS: str(replicas + surge)}


def plan_deployment(deployment: Obj, replica_sets: list[Obj], now: datetime) -> DeploymentPlan:
    """One sync: the first rollout step that changes something, then status."""
    plan = DeploymentPlan()
    spec = deployment["spec"]
    replicas = int(spec.get("replicas", 1))
    owned, plan.adopt = owned_replica_sets(deployment, replica_sets)
    if not selector_from_label_selector(spec.get("selector")).requirements:
        plan.status = deployment_status(deployment, owned, None, now)
        return plan
    recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
    surge, unavailable = (0, 0) if recreate else fenceposts(deployment)
    new = new_replica_set(deployment, owned)
    old = sorted((rs for rs in owned if rs is not new),
                 key=lambda rs: (rs["metadata"].get("creationTimestamp", ""), meta.name_of(rs)))
    top = max((revision_of(rs) for rs in old), default=0)
    if new is None or revision_of(new) <= top:
        plan.revision = str(top + 1)
    else:
        plan.revision = str(revision_of(new))
    if new is not None and not spec.get("paused") and revision_of(new) != int(plan.revision):
        # An old ReplicaSet became the new one again: it gets the next revision and
        # remembers the number it had.
        history = (new["metadata"].get("annotations") or {}).get(REVISION_HISTORY, "")
        before = str(revision_of(new))
        plan.scale.append(Scale(new, _replicas(new), {
            REVISION: plan.revision,
            REVISION_HISTORY: f"{history},{before}" if history else before}))
    if spec.get("paused"):
        # Template edits wait for resume: no new ReplicaSet, only the size follows.
        active = [rs for rs in owned if _replicas(rs) > 0] or ([new] if new else [])
        if len(active) == 1 and _replicas(active[0]) != replicas:
            _scale(plan, active[0], replicas, deployment, surge)
        plan.revision = str(revision_of(new)) if new is not None else str(top)
        plan.status = deployment_status(deployment, owned, new, now, plan)
        return plan
    scaled = _step(plan, deployment, new, old, replicas, surge, unavailable, recreate)
    if not scaled:
        plan.delete = _history_to_drop(deployment, old)
    plan.status = deployment_status(deployment, owned, new if plan.create is None else
                                    plan.create, now, plan)
    return plan


def _step(plan: DeploymentPlan, deployment: Obj, new: Obj | None, old: list[Obj],
          replicas: int, surge: int, unavailable: int, recreate: bool) -> bool:
    """Plan the one rollout step that changes something; True if one was planned."""
    active_old = [rs for rs in old if _replicas(rs) > 0]
    if new is not None and not active_old:
        # Nothing to roll: keep the new ReplicaSet at the Deployment's size (a scale).
        if _replicas(new) != replicas:
            _scale(plan, new, replicas, deployment, surge)
            return True
        wanted = _scaling_annotations(deployment, surge)
        if any((new["metadata"].get("annotations") or {}).get(k) != v
               for k, v in wanted.items()):
            plan.scale.append(Scale(new, replicas, wanted))
        return False
    active = [rs for rs in [new, *old] if rs is not None and _replicas(rs) > 0]
    desired = [(rs["metadata"].get("annotations") or {}).get(DESIRED) for rs in active]
    if not recreate and len(active) > 1 and any(
            value is not None and value != str(replicas) for value in desired):
        _scale_proportionally(plan, deployment, active, replicas, surge)
        return True
    if recreate:
        if active_old:
            for rs in active_old:
                _scale(plan, rs, 0, deployment, surge)
            return True
        if any(_status(rs, "replicas") for rs in old):
            return False  # the old pods are still going
        if new is None:
            plan.create = replica_set_for(deployment, old, replicas, int(plan.revision), surge)
            plan.events.append(f"Scaled up replica set {meta.name_of(plan.create)} from 0 to "
                               f"{replicas}")
            return True
        return False
    if new is None:
        total = sum(_replicas(rs) for rs in old)
        start = max(0, min(replicas + surge - total, replicas))
        plan.create = replica_set_for(deployment, old, start, int(plan.revision), surge)
        if start:
            plan.events.append(f"Scaled up replica set {meta.name_of(plan.create)} from 0 to "
                               f"{start}")
        return True
    # Scale up the new ReplicaSet within the surge.
    if _replicas(new) > replicas:
        _scale(plan, new, replicas, deployment, surge)
        return True
    current = _replicas(new) + sum(_replicas(rs) for rs in old)
    if current < replicas + surge and _replicas(new) < replicas:
        _scale(plan, new, _replicas(new) + min(replicas + surge - current,
                                               replicas - _replicas(new)), deployment, surge)
        return True
    # Scale down old ReplicaSets within the unavailability budget: unhealthy pods first.
    budget = (current - (replicas - unavailable)
              - (_replicas(new) - _status(new, "availableReplicas")))
    if budget <= 0:
        return False
    changed = False
    cuts: dict[str, int] = {}
    for rs in active_old:
        unhealthy = _replicas(rs) - _status(rs, "availableReplicas")
        cut = min(budget, max(0, unhealthy))
        if cut:
            cuts[meta.uid_of(rs)] = cut
            budget -= cut
    available = sum(_status(rs, "availableReplicas") for rs in [new, *old])
    room = available - (replicas - unavailable)
    for rs in active_old:
        left = _replicas(rs) - cuts.get(meta.uid_of(rs), 0)
        cut = max(0, min(left, room, budget))
        if cut:
            cuts[meta.uid_of(rs)] = cuts.get(meta.uid_of(rs), 0) + cut
            room -= cut
            budget -= cut
    for rs in active_old:
        cut = cuts.get(meta.uid_of(rs), 0)
        if cut:
            _scale(plan, rs, _replicas(rs) - cut, deployment, surge)
            changed = True
    return changed


def _scale_proportionally(plan: DeploymentPlan, deployment: Obj, active: list[Obj],
                          replicas: int, surge: int) -> None:
    """A Deployment resized mid-rollout: every active ReplicaSet grows or shrinks by its
    share (its size over the max-replicas it was sized for), largest first; the leftover
    goes to the largest."""
    allowed = replicas + surge if replicas else 0
    to_add = allowed - sum(_replicas(rs) for rs in active)
    newest_first = sorted(active, key=lambda rs: rs["metadata"].get("creationTimestamp", ""),
                          reverse=to_add > 0)
    ranked = sorted(newest_first, key=_replicas, reverse=True)
    sizes: dict[str, int] = {}
    added = 0
    for rs in ranked:
        share = 0
        if to_add and added != to_add:
            annotated = int((rs["metadata"].get("annotations") or {}).get(MAX_REPLICAS) or 0) \
                or int((deployment.get("status") or {}).get("replicas", 0))
            fraction = (-_replicas(rs) if not replicas or not annotated
                        else _round(_replicas(rs) * allowed / annotated) - _replicas(rs))
            share = min(fraction, to_add - added) if to_add > 0 else max(fraction,
                                                                           to_add - added)
        sizes[meta.uid_of(rs)] = _replicas(rs) + share
        added += share
    if ranked and added != to_add:
        first = meta.uid_of(ranked[0])
        sizes[first] = max(0, sizes[first] + to_add - added)
    for rs in ranked:
        _scale(plan, rs, sizes[meta.uid_of(rs)], deployment, surge)


def _round(value: float) -> int:
    """Go's math.Round: halves away from zero."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _scale(plan: DeploymentPlan, rs: Obj, replicas: int, deployment: Obj, surge: int) -> None:
    before = _replicas(rs)
    plan.scale.append(Scale(rs, replicas, _scaling_annotations(deployment, surge)))
    if replicas != before:
        direction = "up" if replicas > before else "down"
        plan.events.append(f"Scaled {direction} replica set {meta.name_of(rs)} from {before} "
                           f"to {replicas}")


def _history_to_drop(deployment: Obj, old: list[Obj]) -> list[Obj]:
    """Old, empty ReplicaSets beyond revisionHistoryLimit, lowest revisions first."""
    limit = int(deployment["spec"].get("revisionHistoryLimit", 10))
    empty = [rs for rs in old if _replicas(rs) == 0 and _status(rs, "replicas") == 0
             and _status(rs, "observedGeneration") >= int(rs["metadata"].get("generation", 1))]
    empty.sort(key=revision_of)
    return empty[:max(0, len(empty) - limit)]


def _condition(ctype: str, status: str, reason: str, message: str, now: datetime,
               before: Obj | None) -> Obj:
    """A condition; an unchanged one stays as it was (no status write for nothing)."""
    if before is not None and (before.get("status"), before.get("reason"),
                               before.get("message")) == (status, reason, message):
        return before
    stamp = meta.format_time(now)
    moved = before is None or before.get("status") != status
    return {"lastTransitionTime": stamp if moved or before is None
            else before.get("lastTransitionTime", stamp),
            "lastUpdateTime": stamp, "message": message, "reason": reason, "status": status,
            "type": ctype}


def deployment_status(deployment: Obj, owned: list[Obj], new: Obj | None, now: datetime,
                      plan: DeploymentPlan | None = None) -> Obj:
    """calculateStatus plus the Available and Progressing conditions."""
    spec, before = deployment["spec"], deployment.get("status") or {}
    replicas = int(spec.get("replicas", 1))
    planned = {meta.uid_of(s.rs): s.replicas for s in (plan.scale if plan else [])}
    specs = sum(planned.get(meta.uid_of(rs), _replicas(rs)) for rs in owned)
    if plan is not None and plan.create is not None:
        specs += _replicas(plan.create)
    available = sum(_status(rs, "availableReplicas") for rs in owned)
    status: Obj = {
        "observedGeneration": int(deployment["metadata"].get("generation", 1)),
        "replicas": sum(_status(rs, "replicas") for rs in owned),
        "updatedReplicas": _status(new, "replicas") if new is not None else 0,
        "readyReplicas": sum(_status(rs, "readyReplicas") for rs in owned),
        "availableReplicas": available,
        "unavailableReplicas": max(0, specs - available),
    }
    if before.get("collisionCount"):
        status["collisionCount"] = before["collisionCount"]
    old_conditions = {c.get("type"): c for c in before.get("conditions") or []}
    _, unavailable = fenceposts(deployment) if (spec.get("strategy") or {}).get(
        "type") != "Recreate" else (0, 0)
    if available >= replicas - unavailable:
        avail = _condition("Available", "True", "MinimumReplicasAvailable",
                           "Deployment has minimum availability.", now,
                           old_conditions.get("Available"))
    else:
        avail = _condition("Available", "False", "MinimumReplicasUnavailable",
                           "Deployment does not have minimum availability.", now,
                           old_conditions.get("Available"))
    conditions = [avail]
    progressing = _progressing(deployment, new, status, now, old_conditions.get("Progressing"),
                               plan)
    if progressing is not None:
        conditions.append(progressing)
    status["conditions"] = conditions
    return status


def _progressing(deployment: Obj, new: Obj | None, status: Obj, now: datetime,
                 before: Obj | None, plan: DeploymentPlan | None) -> Obj | None:
    deadline = deployment["spec"].get("progressDeadlineSeconds")
    if deployment["spec"].get("paused"):
        return _condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused",
                          now, before)
    if before is not None and before.get("reason") == "DeploymentPaused":
        return _condition("Progressing", "Unknown", "DeploymentResumed",
                          "Deployment is resumed", now, before)
    if deadline is None or new is None:
        return before
    name = meta.name_of(new)
    replicas = int(deployment["spec"].get("replicas", 1))
    complete = (status["updatedReplicas"] == replicas and status["replicas"] == replicas
                and status["availableReplicas"] == replicas)
    if complete:
        reason, state, message = ("NewReplicaSetAvailable", "True",
                                  f'ReplicaSet "{name}" has successfully progressed.')
    elif plan is not None and plan.create is not None:
        reason, state, message = ("NewReplicaSetCreated", "True",
                                  f'Created new replica set "{name}"')
    elif (plan is not None and (plan.scale or plan.create)) or _moved(status, deployment):
        reason, state, message = ("ReplicaSetUpdated", "True",
                                  f'ReplicaSet "{name}" is progressing.')
    elif before is None:
        reason, state, message = ("FoundNewReplicaSet", "True",
                                  f'Found new replica set "{name}"')
    else:
        last = meta.parse_time(before.get("lastUpdateTime") or meta.format_time(now))
        if before.get("reason") != "ProgressDeadlineExceeded" and \
                last + timedelta(seconds=int(deadline)) >= now:
            return before
        reason, state, message = ("ProgressDeadlineExceeded", "False",
                                  f'ReplicaSet "{name}" has timed out progressing.')
    if reason == "ReplicaSetUpdated" and before is not None:
        before = {**before, "reason": ""}  # progress refreshes lastUpdateTime
    return _condition("Progressing", state, reason, message, now, before)


def _moved(status: Obj, deployment: Obj) -> bool:
    """Pods got updated, ready or available since the last status: progress."""
    before = deployment.get("status") or {}
    return any(status.get(k, 0) > before.get(k, 0)
               for k in ("updatedReplicas", "readyReplicas", "availableReplicas")) or \
        status["replicas"] - status["updatedReplicas"] < \
        before.get("replicas", 0) - before.get("updatedReplicas", 0)
