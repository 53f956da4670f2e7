"""topologySpreadConstraints (upstream's PodTopologySpread plugin): the DoNotSchedule
filter, the ScheduleAnyway score, and the system default constraints that spread one
owner's pods when the pod states none."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from podctl.api import labels as lbl
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.scheduler import nodeaffinity, selectors, taints
from podctl.controllers.scheduler.state import NodeInfo

NOT_MATCH = "node(s) didn't match pod topology spread constraints"
MISSING_LABEL = NOT_MATCH + " (missing required label)"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
# The scheduler's system defaults: ScheduleAnyway, by host and by zone.
SYSTEM_DEFAULTS = ((HOSTNAME, 3), (ZONE, 5))
MAX_SCORE = 100


@dataclass(frozen=True)
class Constraint:
    key: str
    max_skew: int
    hard: bool
    selector: lbl.Selector | None
    min_domains: int
    honor_affinity: bool
    honor_taints: bool

    def includes(self, pod: Obj, node: Obj) -> bool:
        """nodeAffinityPolicy (Honor by default) and nodeTaintsPolicy (Ignore by default):
        which nodes' domains count."""
        if self.honor_affinity and not nodeaffinity.required_matches(pod, node):
            return False
        return not (self.honor_taints and taints.untolerated_do_not_schedule(pod, node))


def constraints(pod: Obj, hard: bool) -> list[Constraint]:
    """The pod's own DoNotSchedule (hard) or ScheduleAnyway constraints."""
    wanted = "DoNotSchedule" if hard else "ScheduleAnyway"
    found = []
    for item in pod["spec"].get("topologySpreadConstraints") or []:
        if not isinstance(item, dict) or item.get("whenUnsatisfiable") != wanted:
            continue
        found.append(Constraint(
            key=str(item.get("topologyKey") or ""),
            max_skew=max(selectors.integer(item.get("maxSkew"), 1), 1),
            hard=hard,
            selector=selectors.from_spec(item.get("labelSelector"), pod,
                                         item.get("matchLabelKeys")),
            min_domains=selectors.integer(item.get("minDomains"), 1) if hard else 1,
            honor_affinity=item.get("nodeAffinityPolicy", "Honor") == "Honor",
            honor_taints=item.get("nodeTaintsPolicy", "Ignore") == "Honor"))
    return found


def default_constraints(selector: lbl.Selector | None) -> list[Constraint]:
    """The system defaults over the pod's owner's and Services' selector (none without)."""
    if selector is None or selector.is_empty():
        return []
    return [Constraint(key, skew, False, selector, 1, True, False)
            for key, skew in SYSTEM_DEFAULTS]


def _count(pods: Sequence[Obj], selector: lbl.Selector | None, namespace: str) -> int:
    return sum(1 for p in pods if not p["metadata"].get("deletionTimestamp")
               and meta.namespace_of(p) == namespace and selectors.matches(selector, p))


def _has_keys(node: Obj, found: Sequence[Constraint]) -> bool:
    labels = meta.labels_of(node)
    return all(c.key in labels for c in found)


class SpreadFilter:
    """PreFilter's state: matching pods per domain over the eligible nodes, per hard
    constraint; then the filter per node."""

    def __init__(self, pod: Obj, infos: Sequence[NodeInfo]) -> None:
        self.pod = pod
        self.constraints = constraints(pod, hard=True)
        namespace = meta.namespace_of(pod)
        self.counts: list[dict[str, int]] = [{} for _ in self.constraints]
        for info in infos:
            if not _has_keys(info.node, self.constraints):
                continue
            for i, c in enumerate(self.constraints):
                if c.includes(pod, info.node):
                    value = info.labels[c.key]
                    self.counts[i][value] = self.counts[i].get(value, 0) + _count(
                        info.pods, c.selector, namespace)

    def reject(self, info: NodeInfo) -> tuple[str, bool] | None:
        """Why the node would break a constraint's skew ((reason, unresolvable)), or None."""
        for i, c in enumerate(self.constraints):
            value = info.labels.get(c.key)
            if value is None:
                return MISSING_LABEL, True
            domains = self.counts[i]
            minimum = min(domains.values()) if domains else 0
            if len(domains) < c.min_domains:
                minimum = 0
            own = 1 if selectors.matches(c.selector, self.pod) else 0
            if domains and domains.get(value, 0) + own - minimum > c.max_skew:
                return NOT_MATCH, False
        return None


def scores(pod: Obj, feasible: Sequence[NodeInfo], infos: Sequence[NodeInfo],
           default_selector: lbl.Selector | None) -> dict[str, int]:
    """The ScheduleAnyway score, normalised 0-100: fewer matching pods in a node's domains,
    weighted by how many domains each key has, scores higher."""
    own = pod["spec"].get("topologySpreadConstraints")
    soft = constraints(pod, hard=False) if own else default_constraints(default_selector)
    if not soft:
        return {}
    require_all = bool(own)
    ignored = {i.name for i in feasible if require_all and not _has_keys(i.node, soft)}
    domains: list[dict[str, int]] = [{} for _ in soft]
    for info in feasible:
        if info.name not in ignored:
            for i, c in enumerate(soft):
                if c.key != HOSTNAME:
                    domains[i].setdefault(info.labels.get(c.key, ""), 0)
    namespace = meta.namespace_of(pod)
    for info in infos:
        if require_all and not _has_keys(info.node, soft):
            continue
        for i, c in enumerate(soft):
            value = info.labels.get(c.key, "")
            if c.key != HOSTNAME and value in domains[i] and c.includes(pod, info.node):
                domains[i][value] += _count(info.pods, c.selector, namespace)
    weights = [math.log((len(feasible) - len(ignored) if c.key == HOSTNAME
                         else len(domains[i])) + 2) for i, c in enumerate(soft)]
    raw = {}
    for info in feasible:
        if info.name in ignored:
            continue
        total = 0.0
        for i, c in enumerate(soft):
            if c.key in info.labels:
                count = (_count(info.pods, c.selector, namespace) if c.key == HOSTNAME
                         else domains[i][info.labels[c.key]])
                total += count * weights[i] + (c.max_skew - 1)
        raw[info.name] = math.floor(total + 0.5)  # Go's math.Round, half away from 0
    return _normalise(raw, [i.name for i in feasible])


def _normalise(raw: dict[str, int], names: list[str]) -> dict[str, int]:
    """Upstream's NormalizeScore: the least crowded node 100, ignored nodes 0."""
    if not raw:
        return dict.fromkeys(names, 0)
    low, high = min(raw.values()), max(raw.values())
    return {name: (0 if name not in raw else MAX_SCORE if high == 0
                   else MAX_SCORE * (high + low - raw[name]) // high) for name in names}


def default_selector(pod: Obj, services: Sequence[Obj], owner: Obj | None) -> lbl.Selector:
    """helper.DefaultSelector: the selectors of the Services that select the pod and of
    its controller (an RC's map, a ReplicaSet's or StatefulSet's label selector), ANDed."""
    own = meta.labels_of(pod)
    merged: dict[str, str] = {}
    for service in services:
        wanted = (service.get("spec") or {}).get("selector") or {}
        if wanted and all(own.get(k) == v for k, v in wanted.items()):
            merged.update(wanted)
    extra: tuple[lbl.Requirement, ...] = ()
    owner_selector = ((owner or {}).get("spec") or {}).get("selector") or {}
    if owner is not None and owner.get("kind") == "ReplicationController":
        merged.update(owner_selector)
    elif owner is not None and owner.get("kind") in ("ReplicaSet", "StatefulSet"):
        parsed = selectors.from_spec(owner_selector, pod)
        extra = parsed.requirements if parsed is not None else ()
    return lbl.Selector(lbl.selector_from_map(merged).requirements + extra)
