"""The scheduler: one pure function of (pod, cluster) -> the node to bind it to, or the
FailedScheduling message, as upstream's default profile decides it.

Filters run per node in upstream's order and stop at the first that rejects it
(NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
PodTopologySpread, InterPodAffinity); the feasible nodes are scored with the default
weights and the best wins, ties going to the first name (upstream picks among ties at
random; podctl stays reproducible). Preemption is not implemented: without
PriorityClasses every pod has priority 0, so, as upstream, no node has a victim."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from podctl.api.meta import Obj
from podctl.controllers.scheduler import (
    interpod,
    nodeaffinity,
    resources,
    spread,
    taints,
    volumes,
)
from podctl.controllers.scheduler.state import Cluster, NodeInfo, node_infos

__all__ = ["SCHEDULER", "Cluster", "Decision", "assigned_message", "schedule"]

SCHEDULER = "default-scheduler"
NO_NODES = "no nodes available to schedule pods"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NEVER_PREEMPTS = "not eligible due to preemptionPolicy=Never."
OUTSIDE_PINNED = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
MAX_SCORE = 100


@dataclass(frozen=True)
class Status:
    """Why a node was rejected; unresolvable: evicting pods from it could not help."""

    reasons: tuple[str, ...]
    unresolvable: bool


@dataclass(frozen=True)
class Decision:
    node: str | None
    message: str | None = None


def schedule(pod: Obj, cluster: Cluster) -> Decision:
    """The node the pod goes to, or no node and the FailedScheduling message."""
    infos = node_infos(cluster, pod)
    if not infos:
        return Decision(None, NO_NODES)
    pinned = nodeaffinity.pinned_node_names(pod)
    refused = nodeaffinity.TERMS_CONFLICT if pinned is not None and not pinned else \
        volumes.prefilter(pod, cluster)
    if refused is not None:
        gone = dict.fromkeys((i.name for i in infos), Status((), True))
        return Decision(None, _failure(pod, len(infos), {}, refused, gone))
    checks = _Filters(pod, infos, cluster)
    statuses = {i.name: Status((OUTSIDE_PINNED,), True)
                for i in infos if pinned is not None and i.name not in pinned}
    feasible = []
    for info in infos:
        if info.name in statuses:
            continue
        status = checks.run(info)
        if status is None:
            feasible.append(info)
        else:
            statuses[info.name] = status
    if not feasible:
        return Decision(None, _failure(pod, len(infos), statuses, None, statuses))
    return Decision(_best(pod, feasible, infos, cluster))


class _Filters:
    """The filter plugins, with the cluster-wide counts the spread and affinity filters
    take once per cycle."""

    def __init__(self, pod: Obj, infos: Sequence[NodeInfo], cluster: Cluster) -> None:
        self.pod = pod
        self.cluster = cluster
        self.spread = spread.SpreadFilter(pod, infos)
        self.interpod = interpod.InterPodFilter(pod, infos, cluster.namespace_labels)

    def run(self, info: NodeInfo) -> Status | None:
        pod, node = self.pod, info.node
        if taints.unschedulable_blocks(pod, node):
            return Status((taints.UNSCHEDULABLE,), True)
        if taints.untolerated_do_not_schedule(pod, node):
            return Status((taints.UNTOLERATED,), True)
        if not nodeaffinity.required_matches(pod, node):
            return Status((nodeaffinity.NOT_MATCH,), True)
        if resources.ports_clash(pod, info.pods):
            return Status((resources.PORTS_TAKEN,), False)
        reasons, unresolvable = resources.insufficient(pod, node, len(info.pods),
                                                          info.requested)
        if reasons:
            return Status(tuple(reasons), unresolvable)
        volume_reason = volumes.reject(pod, node, self.cluster)
        if volume_reason is not None:
            return Status((volume_reason,), True)
        for rejected in (self.spread.reject(info), self.interpod.reject(info)):
            if rejected is not None:
                return Status((rejected[0],), rejected[1])
        return None


def _fit_error(total: int, statuses: Mapping[str, Status], prefilter: str | None) -> str:
    """FitError.Error(): the reasons counted over nodes, sorted as strings ("10 x" before
    "2 y", as Go's sort.Strings)."""
    message = f"0/{total} nodes are available:"
    if prefilter:
        return f"{message} {prefilter}."
    counts = Counter(reason for status in statuses.values() for reason in status.reasons)
    parts = sorted(f"{count} {reason}" for reason, count in counts.items())
    return f"{message} {', '.join(parts)}." if parts else message


def _failure(pod: Obj, total: int, statuses: Mapping[str, Status], prefilter: str | None,
             after: Mapping[str, Status]) -> str:
    """The FailedScheduling message: the filters' verdict, then DefaultPreemption's."""
    if pod["spec"].get("preemptionPolicy") == "Never":
        return f"{_fit_error(total, statuses, prefilter)} preemption: {NEVER_PREEMPTS}"
    preemption = {name: Status((NOT_HELPFUL if s.unresolvable else NO_VICTIMS,), True)
                  for name, s in after.items()}
    return (f"{_fit_error(total, statuses, prefilter)} "
            f"preemption: {_fit_error(total, preemption, None)}")


# The default profile's score plugins and weights (ImageLocality left out: podctl does not
# track which node holds which image).
Scorer = Callable[[Obj, Sequence[NodeInfo], Sequence[NodeInfo], Cluster], dict[str, int]]


def _taint_scores(pod: Obj, feasible: Sequence[NodeInfo], _infos: Sequence[NodeInfo],
                  _cluster: Cluster) -> dict[str, int]:
    raw = {i.name: taints.intolerable_prefer_no_schedule(pod, i.node) for i in feasible}
    return _default_normalise(raw, reverse=True)


def _node_affinity_scores(pod: Obj, feasible: Sequence[NodeInfo], _infos: Sequence[NodeInfo],
                          _cluster: Cluster) -> dict[str, int]:
    raw = {i.name: nodeaffinity.preferred_score(pod, i.node) for i in feasible}
    return _default_normalise(raw, reverse=False)


def _least_allocated(pod: Obj, feasible: Sequence[NodeInfo], _infos: Sequence[NodeInfo],
                     _cluster: Cluster) -> dict[str, int]:
    return {i.name: resources.least_allocated(pod, i.node, i.non_zero_requested)
            for i in feasible}


def _balanced(pod: Obj, feasible: Sequence[NodeInfo], _infos: Sequence[NodeInfo],
              _cluster: Cluster) -> dict[str, int]:
    if not any(resources.pod_requests(pod).get(n) for n in (resources.CPU, resources.MEMORY)):
        return {}  # PreScore skips a pod that requests nothing
    return {i.name: resources.balanced(pod, i.node, i.requested) for i in feasible}


def _spread_scores(pod: Obj, feasible: Sequence[NodeInfo], infos: Sequence[NodeInfo],
                   cluster: Cluster) -> dict[str, int]:
    return spread.scores(pod, feasible, infos, cluster.default_selector)


def _interpod_scores(pod: Obj, feasible: Sequence[NodeInfo], infos: Sequence[NodeInfo],
                     cluster: Cluster) -> dict[str, int]:
    return interpod.scores(pod, feasible, infos, cluster.namespace_labels)


SCORERS: tuple[tuple[Scorer, int], ...] = (
    (_taint_scores, 3), (_node_affinity_scores, 2), (_least_allocated, 1),
    (_spread_scores, 2), (_interpod_scores, 2), (_balanced, 1))


def _default_normalise(raw: dict[str, int], reverse: bool) -> dict[str, int]:
    """helper.DefaultNormalizeScore: scaled to 0-100 by the highest (reversed: fewer is
    better)."""
    high = max(raw.values(), default=0)
    if high == 0:
        return dict.fromkeys(raw, MAX_SCORE if reverse else 0)
    scaled = {name: MAX_SCORE * value // high for name, value in raw.items()}
    return {name: MAX_SCORE - value for name, value in scaled.items()} if reverse else scaled


def totals(pod: Obj, feasible: Sequence[NodeInfo], infos: Sequence[NodeInfo],
           cluster: Cluster) -> dict[str, int]:
    """Each feasible node's weighted score."""
    total = dict.fromkeys((i.name for i in feasible), 0)
    for scorer, weight in SCORERS:
        for name, score in scorer(pod, feasible, infos, cluster).items():
            total[name] += weight * score
    return total


def _best(pod: Obj, feasible: Sequence[NodeInfo], infos: Sequence[NodeInfo],
          cluster: Cluster) -> str:
    if len(feasible) == 1:
        return feasible[0].name
    total = totals(pod, feasible, infos, cluster)
    return min(total, key=lambda name: (-total[name], name))


def assigned_message(pod: Obj, node_name: str) -> str:
    md = pod["metadata"]
    return f"Successfully assigned {md['namespace']}/{md['name']} to {node_name}"
