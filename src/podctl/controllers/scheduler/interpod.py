"""Inter-pod affinity and anti-affinity (upstream's InterPodAffinity plugin): required
terms filter, preferred terms (the pod's and, symmetrically, the bound pods') score. A
term's topologyKey may be any node label; a node without it is outside every domain."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from podctl.api import labels as lbl
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.scheduler import selectors
from podctl.controllers.scheduler.state import NodeInfo

AFFINITY_NOT_MATCH = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_NOT_MATCH = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
# What an existing pod's required affinity to the incoming pod adds to the score
# (the scheduler's hardPodAffinityWeight default).
HARD_POD_AFFINITY_WEIGHT = 1
MAX_SCORE = 100
AFFINITY, ANTI_AFFINITY = "podAffinity", "podAntiAffinity"
NamespaceLabels = Mapping[str, Mapping[str, str]]
Pair = tuple[str, str]


@dataclass(frozen=True)
class Term:
    selector: lbl.Selector | None
    namespaces: frozenset[str]
    namespace_selector: lbl.Selector | None
    key: str

    def matches(self, pod: Obj, namespace_labels: NamespaceLabels) -> bool:
        namespace = meta.namespace_of(pod)
        in_scope = namespace in self.namespaces or (
            self.namespace_selector is not None
            and self.namespace_selector.matches(namespace_labels.get(namespace) or {}))
        return in_scope and selectors.matches(self.selector, pod)


def _term(owner: Obj, item: Obj) -> Term:
    """A PodAffinityTerm of `owner`: no namespaces and no namespaceSelector mean the
    owner's namespace; an empty namespaceSelector means every namespace."""
    namespaces = frozenset(str(n) for n in item.get("namespaces") or [])
    raw_ns_selector = item.get("namespaceSelector")
    ns_selector = None
    if isinstance(raw_ns_selector, dict):
        ns_selector = selectors.from_spec(raw_ns_selector, owner)
    elif not namespaces:
        namespaces = frozenset({meta.namespace_of(owner)})
    return Term(selectors.from_spec(item.get("labelSelector"), owner, item.get("matchLabelKeys"),
                                    item.get("mismatchLabelKeys")),
                namespaces, ns_selector, str(item.get("topologyKey") or ""))


def _has_pod_affinity(pod: Obj) -> bool:
    """Whether the pod states any pod (anti-)affinity: most do not, and a cycle looks at
    every bound pod."""
    affinity = (pod.get("spec") or {}).get("affinity")
    return isinstance(affinity, dict) and bool(
        affinity.get(AFFINITY) or affinity.get(ANTI_AFFINITY))


def terms(owner: Obj, kind: str, required: bool) -> list[tuple[int, Term]]:
    """(weight, term) of the pod's required (weight 0) or preferred terms of one kind."""
    if not _has_pod_affinity(owner):
        return []
    affinity = owner["spec"]["affinity"]
    rules = affinity.get(kind) or {}
    field = ("requiredDuringSchedulingIgnoredDuringExecution" if required
             else "preferredDuringSchedulingIgnoredDuringExecution")
    found = []
    for item in rules.get(field) or [] if isinstance(rules, dict) else []:
        if not isinstance(item, dict):
            continue
        if required:
            found.append((0, _term(owner, item)))
        elif isinstance(item.get("podAffinityTerm"), dict):
            found.append((selectors.integer(item.get("weight"), 0),
                          _term(owner, item["podAffinityTerm"])))
    return found


class InterPodFilter:
    """PreFilter's counts per topology domain, then the filter per node."""

    def __init__(self, pod: Obj, infos: Sequence[NodeInfo], ns_labels: NamespaceLabels) -> None:
        self.pod, self.ns_labels = pod, ns_labels
        self.affinity = [t for _, t in terms(pod, AFFINITY, True)]
        self.anti = [t for _, t in terms(pod, ANTI_AFFINITY, True)]
        self.affinity_counts: Counter[Pair] = Counter()
        self.anti_counts: Counter[Pair] = Counter()
        self.existing_anti: Counter[Pair] = Counter()
        if self.affinity or self.anti or any(_has_pod_affinity(p) for i in infos
                                             for p in i.pods):
            for info in infos:
                for other in info.pods:
                    self._count(info, other)

    def _count(self, info: NodeInfo, other: Obj) -> None:
        for _, term in terms(other, ANTI_AFFINITY, True):
            if term.key in info.labels and term.matches(self.pod, self.ns_labels):
                self.existing_anti[(term.key, info.labels[term.key])] += 1
        if self.affinity and all(t.matches(other, self.ns_labels) for t in self.affinity):
            for term in self.affinity:
                if term.key in info.labels:
                    self.affinity_counts[(term.key, info.labels[term.key])] += 1
        for term in self.anti:
            if term.key in info.labels and term.matches(other, self.ns_labels):
                self.anti_counts[(term.key, info.labels[term.key])] += 1

    def reject(self, info: NodeInfo) -> tuple[str, bool] | None:
        """Why the node breaks an affinity rule ((reason, unresolvable)), or None."""
        if not self._affinity_satisfied(info):
            return AFFINITY_NOT_MATCH, True
        if any(t.key in info.labels and self.anti_counts[(t.key, info.labels[t.key])] > 0
               for t in self.anti):
            return ANTI_AFFINITY_NOT_MATCH, False
        if any(self.existing_anti[pair] > 0 for pair in info.labels.items()):
            return EXISTING_ANTI_AFFINITY, False
        return None

    def _affinity_satisfied(self, info: NodeInfo) -> bool:
        if any(t.key not in info.labels for t in self.affinity):
            return False
        if all(self.affinity_counts[(t.key, info.labels[t.key])] > 0 for t in self.affinity):
            return True
        # The first pod of a group with affinity to itself: nothing matches anywhere yet.
        return not self.affinity_counts and all(
            t.matches(self.pod, self.ns_labels) for t in self.affinity)


def scores(pod: Obj, feasible: Sequence[NodeInfo], infos: Sequence[NodeInfo],
           ns_labels: NamespaceLabels) -> dict[str, int]:
    """Preferred affinity (+weight) and anti-affinity (-weight) per domain, both the
    pod's towards bound pods and theirs towards it, normalised 0-100."""
    preferred = [(w, t, 1) for w, t in terms(pod, AFFINITY, False)]
    preferred += [(w, t, -1) for w, t in terms(pod, ANTI_AFFINITY, False)]
    domains: Counter[Pair] = Counter()
    for info in infos:
        for other in info.pods:
            for weight, term, sign in preferred:
                if term.key in info.labels and term.matches(other, ns_labels):
                    domains[(term.key, info.labels[term.key])] += weight * sign
            if not _has_pod_affinity(other):
                continue
            for weight, term, sign in _towards(other):
                if term.key in info.labels and term.matches(pod, ns_labels):
                    domains[(term.key, info.labels[term.key])] += weight * sign
    raw = {i.name: sum(domains[pair] for pair in i.labels.items()) for i in feasible}
    low, high = (min(raw.values()), max(raw.values())) if raw else (0, 0)
    return {name: int(MAX_SCORE * (value - low) / (high - low)) if high > low else 0
            for name, value in raw.items()}


def _towards(other: Obj) -> list[tuple[int, Term, int]]:
    """A bound pod's terms that pull the incoming pod near (+) or push it away (-)."""
    found = [(HARD_POD_AFFINITY_WEIGHT, t, 1) for _, t in terms(other, AFFINITY, True)]
    found += [(w, t, 1) for w, t in terms(other, AFFINITY, False)]
    found += [(w, t, -1) for w, t in terms(other, ANTI_AFFINITY, False)]
    return found
