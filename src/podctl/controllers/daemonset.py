"""The DaemonSet controller: whether each node should run the daemon pod (nodeName,
nodeSelector, required node affinity, taints and tolerations), then a pure plan over every
node of creations and deletions, rolling updates within maxUnavailable or maxSurge
included, and its execution."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers import history
from podctl.controllers.deployment import scaled_value, template_hash
from podctl.controllers.ownersync import OwnerSync, Pass
from podctl.controllers.podcontrol import create_pods, delete_pods, fresh_name
from podctl.controllers.replication import is_ready, pod_from_template
from podctl.controllers.scheduler import nodeaffinity
from podctl.controllers.scheduler.taints import tolerates
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


def node_should_run(ds: Obj, node: Obj) -> tuple[bool, bool]:
    """(should run, should continue running) a daemon pod on the node. A pod whose only
    obstacle is a NoSchedule taint keeps running; NoExecute evicts it."""
    pod_spec = ds["spec"]["template"].get("spec") or {}
    wanted_node = pod_spec.get("nodeName")
    if wanted_node and wanted_node != meta.name_of(node):
        return False, False
    if not nodeaffinity.required_matches({"spec": pod_spec}, node):
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
    create_on: list[str] = field(default_factory=list)  # nodes to make a daemon pod on
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


def target_node(pod: Obj) -> str:
    """The node a daemon pod is for: its nodeName once bound, else the one node its
    metadata.name node affinity names (upstream's GetTargetNodeName)."""
    if pod["spec"].get("nodeName"):
        return str(pod["spec"]["nodeName"])
    names = nodeaffinity.pinned_node_names(pod) or set()
    return next(iter(names)) if len(names) == 1 else ""


def _or(value: Any, default: int) -> Any:
    return default if value is None else value


def _budgets(ds: Obj, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods; both zero means one unavailable at a time."""
    rolling = (ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(_or(rolling.get("maxSurge"), 0), desired, round_up=True)
    unavailable = scaled_value(_or(rolling.get("maxUnavailable"), 1), desired, round_up=True)
    return surge, (1 if surge == 0 and unavailable == 0 else unavailable)


@dataclass
class _OnNode:
    """One node's daemon pods, as the plan sorts them."""

    name: str
    should_run: bool
    should_continue: bool
    running: list[Obj]  # live and not finished, oldest first
    new: list[Obj]  # of those, the ones of the current template
    old: list[Obj]


def plan_daemon_set(ds: Obj, nodes: list[Obj], owned: list[Obj], now: datetime,
                    manage: bool = True) -> DSPlan:
    """What one sync must do over every node, given the DaemonSet's pods (status filled):
    upstream's manage loop (a pod where one should run, none where none should, one per
    node) and rolling update (old pods replaced within maxUnavailable, or beside new ones
    within maxSurge); without `manage` (the previous sync's changes are not seen yet) only
    the status. Pods bound to a node that is gone are the pod garbage collector's."""
    plan = DSPlan()
    current = template_hash(ds["spec"]["template"])
    min_ready = int(ds["spec"].get("minReadySeconds") or 0)
    live = [p for p in owned if not p["metadata"].get("deletionTimestamp")]
    finished = [p for p in live if (p.get("status") or {}).get("phase") in ("Succeeded",
                                                                             "Failed")]
    plan.failed = [p for p in finished if p["status"]["phase"] == "Failed"]
    plan.delete = list(finished)
    by_node: dict[str, list[Obj]] = {}
    for pod in sorted((p for p in live if p not in finished),
                      key=lambda p: (p["metadata"].get("creationTimestamp", ""),
                                     meta.name_of(p))):
        by_node.setdefault(target_node(pod), []).append(pod)
    on_nodes = []
    for node in nodes:
        name = meta.name_of(node)
        should_run, should_continue = node_should_run(ds, node)
        running = by_node.get(name, [])
        new = [p for p in running if meta.labels_of(p).get(REVISION_HASH) == current]
        if (ds["spec"].get("updateStrategy") or {}).get("type") == "OnDelete":
            new = list(running)
        on_nodes.append(_OnNode(name, should_run, should_continue, running, new,
                                [p for p in running if p not in new]))
    desired = sum(n.should_run for n in on_nodes)
    surge, unavailable = _budgets(ds, desired)
    for n in on_nodes:
        if not n.should_continue:
            plan.delete += n.running
        elif len(n.new) > 1 or len(n.old) > 1:
            plan.delete += n.new[1:] + n.old[1:]  # more than one: the oldest stays
    if surge:
        _surge(on_nodes, surge, min_ready, now, plan)
    else:
        _replace(on_nodes, unavailable, min_ready, now, plan)
    if not manage:
        plan = DSPlan()
    plan.status = _status(ds, on_nodes, plan, current, min_ready, now)
    return plan


def _replace(on_nodes: list[_OnNode], max_unavailable: int, min_ready: int, now: datetime,
             plan: DSPlan) -> None:
    """Without surge: old pods deleted while the unavailable stay within the budget (an
    unavailable old pod always may go), a new pod made where none is left."""
    unavailable, allowed, candidates = 0, [], []
    for n in (n for n in on_nodes if n.should_run):
        new, old = n.new[:1], n.old[:1]
        if bool(new) == bool(old):
            unavailable += 1  # nothing yet, or both: the manage loop's to settle
        elif new:
            unavailable += not _available(new[0], min_ready, now)
        elif not _available(old[0], min_ready, now):
            allowed.append(old[0])
        elif unavailable < max_unavailable:
            candidates.append(old[0])
    room = min(max(max_unavailable - unavailable, 0), len(candidates))
    plan.delete += allowed + candidates[:room]
    for n in (n for n in on_nodes if n.should_run and not n.new):
        if not n.old or n.old[0] in plan.delete:
            plan.create_on.append(n.name)


def _surge(on_nodes: list[_OnNode], max_surge: int, min_ready: int, now: datetime,
           plan: DSPlan) -> None:
    """With surge: a new pod beside the old one on up to maxSurge nodes at a time (an
    unavailable old pod's node always), the old one deleted once the new is available."""
    surging = 0
    for n in (n for n in on_nodes if n.should_run):
        new, old = n.new[:1], n.old[:1]
        if not new and not old:
            plan.create_on.append(n.name)
        elif not old:
            continue
        elif not new:
            if not _available(old[0], min_ready, now):
                plan.create_on.append(n.name)
            elif surging < max_surge:
                surging += 1
                plan.create_on.append(n.name)
        elif _available(new[0], min_ready, now):
            plan.delete.append(old[0])
        else:
            surging += 1


def _status(ds: Obj, on_nodes: list[_OnNode], plan: DSPlan, current: str, min_ready: int,
            now: datetime) -> Obj:
    """The DaemonSet's status counted per node, as upstream's: the pod a node keeps is its
    oldest one not being deleted, or the one being made."""
    desired = scheduled = misscheduled = ready = available = updated = 0
    for n in on_nodes:
        kept = [p for p in n.running if p not in plan.delete]
        creating = n.name in plan.create_on
        if not n.should_run:
            misscheduled += bool(kept)
            continue
        desired += 1
        scheduled += bool(kept) or creating
        ready += any(is_ready(p) for p in kept)
        available += any(_available(p, min_ready, now) for p in kept)
        updated += any(meta.labels_of(p).get(REVISION_HASH) == current
                       for p in kept) or creating
    return {
        "currentNumberScheduled": scheduled,
        "desiredNumberScheduled": desired,
        "numberAvailable": available,
        "numberMisscheduled": misscheduled,
        "numberReady": ready,
        "numberUnavailable": max(desired - available, 0),
        "observedGeneration": int(ds["metadata"].get("generation", 1)),
        "updatedNumberScheduled": updated,
    }


@dataclass
class Observed:
    nodes: list[Obj]
    owned: list[Obj]  # its pods
    taken: set[str]  # the namespace's pod names
    revisions: history.Revisions | None = None


class DaemonSetSync(OwnerSync[Observed, DSPlan]):
    """One pass over a DaemonSet against the node."""

    kind = "DaemonSet"

    def observe(self, store: Store, owner: Obj) -> Observed:
        ensure_node(store)
        uid = meta.uid_of(owner)
        pods = store.list("Pod", meta.namespace_of(owner))
        owned = [p for p in pods if (meta.controller_of(p) or {}).get("uid") == uid]
        # As upstream's, the template's revision is stored first (rollout history, undo).
        revisions = history.ensure_update_revision(
            store, owner, owner["spec"]["template"], history.owned_revisions(store, owner),
            0, "")
        return Observed(store.list("Node"), owned, {meta.name_of(p) for p in pods},
                        revisions)

    def plan(self, step: Pass[Observed]) -> DSPlan:
        return plan_daemon_set(step.owner, step.observed.nodes, step.observed.owned,
                               step.now, step.manage)

    def act(self, step: Pass[Observed], plan: DSPlan) -> None:
        store, ds, result = step.store, step.owner, step.result
        for pod in plan.failed:
            store.record_event(ds, "Warning", "FailedDaemonPod",
                               f"Found failed daemon pod {meta.namespace_of(ds)}/"
                               f"{meta.name_of(pod)} on node {target_node(pod)}, will try "
                               "to kill it", SOURCE)
        result.deleting = delete_pods(store, ds, plan.delete, step.control, SOURCE)
        created = create_pods(
            store, ds, len(plan.create_on),
            lambda i: _daemon_pod(ds, plan.create_on[i],
                                  fresh_name(meta.name_of(ds), step.observed.taken)),
            step.control, SOURCE)
        result.created = created.pods
        result.again(created.retry_in)
        _trim_history(step)


def _trim_history(step: Pass[Observed]) -> None:
    """Revisions beyond revisionHistoryLimit that no pod runs go (upstream's cleanupHistory)."""
    seen = step.observed.revisions
    if seen is None:
        return
    hashes = {meta.labels_of(p).get(REVISION_HASH) for p in step.observed.owned}
    live = {meta.name_of(seen.update)} | {
        meta.name_of(r) for r in seen.history
        if meta.labels_of(r).get(history.HASH_LABEL) in hashes}
    limit = int(step.owner["spec"].get("revisionHistoryLimit", 10))
    history.delete_revisions(step.store, history.surplus(seen.history, live, limit))


def _daemon_pod(ds: Obj, node_name: str, name: str) -> Obj:
    """A daemon pod for one node. As upstream's, it is not bound here: its required node
    affinity becomes the one term `metadata.name In [node]` and the scheduler binds it."""
    pod = pod_from_template(ds, name)
    labels = pod["metadata"].setdefault("labels", {})
    labels[REVISION_HASH] = template_hash(ds["spec"]["template"])
    labels[TEMPLATE_GENERATION] = str(ds["metadata"].get("generation", 1))
    spec = pod["spec"]
    node_affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": nodeaffinity.NAME_FIELD, "operator": "In",
                          "values": [node_name]}]}]}
    spec["tolerations"] = daemon_tolerations(spec)
    return pod
