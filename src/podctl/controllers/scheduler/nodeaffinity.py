"""nodeSelector and node affinity (upstream's NodeAffinity plugin): the required match,
the node names a matchFields term pins the pod to, and the preferred terms' score."""

from __future__ import annotations

from podctl.api import labels as lbl
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.scheduler import selectors

NOT_MATCH = "node(s) didn't match Pod's node affinity/selector"
TERMS_CONFLICT = "pod affinity terms conflict"
NAME_FIELD = "metadata.name"


def _node_affinity(pod: Obj) -> Obj:
    affinity = pod["spec"].get("affinity")
    found = affinity.get("nodeAffinity") if isinstance(affinity, dict) else None
    return found if isinstance(found, dict) else {}


# NodeSelectorOperator spellings -> label requirement operators (same semantics, Gt/Lt
# comparing int64s).
_OPERATORS = {"In": lbl.IN, "NotIn": lbl.NOT_IN, "Exists": lbl.EXISTS,
              "DoesNotExist": lbl.DOES_NOT_EXIST, "Gt": lbl.GREATER_THAN, "Lt": lbl.LESS_THAN}


def _requirement_matches(requirement: Obj, values_of: dict[str, str]) -> bool:
    operator = _OPERATORS.get(str(requirement.get("operator")))
    if operator is None:
        return False
    values = tuple(str(v) for v in requirement.get("values") or [])
    return lbl.Requirement(str(requirement.get("key", "")), operator, values).matches(values_of)


def term_matches(term: Obj, node: Obj) -> bool:
    """A NodeSelectorTerm: its expressions (labels) and fields (the name) ANDed; an empty
    term matches no node."""
    expressions = [e for e in term.get("matchExpressions") or [] if isinstance(e, dict)]
    fields = [f for f in term.get("matchFields") or [] if isinstance(f, dict)]
    if not expressions and not fields:
        return False
    labels = meta.labels_of(node)
    names = {NAME_FIELD: meta.name_of(node)}
    return (all(_requirement_matches(e, labels) for e in expressions)
            and all(_requirement_matches(f, names) for f in fields))


def required_matches(pod: Obj, node: Obj) -> bool:
    """nodeSelector labels and the required node affinity's terms (ORed)."""
    labels = meta.labels_of(node)
    selector = pod["spec"].get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    required = _node_affinity(pod).get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, dict):
        return True
    terms = [t for t in required.get("nodeSelectorTerms") or [] if isinstance(t, dict)]
    return any(term_matches(t, node) for t in terms)


def pinned_node_names(pod: Obj) -> set[str] | None:
    """The PreFilter's node names: when every required term names nodes by matchFields
    metadata.name In, only those can fit (None: any node may)."""
    required = _node_affinity(pod).get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, dict):
        return None
    names: set[str] = set()
    for term in required.get("nodeSelectorTerms") or []:
        term_names: set[str] | None = None
        for field in term.get("matchFields") or [] if isinstance(term, dict) else []:
            if not isinstance(field, dict):
                continue
            if field.get("key") == NAME_FIELD and field.get("operator") == "In":
                values = {str(v) for v in field.get("values") or []}
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None  # this term may match any node: the terms are ORed
        names |= term_names
    return names if required.get("nodeSelectorTerms") else None


def preferred_score(pod: Obj, node: Obj) -> int:
    """The sum of the weights of the preferred terms the node matches."""
    score = 0
    for preferred in _node_affinity(pod).get(
            "preferredDuringSchedulingIgnoredDuringExecution") or []:
        if not isinstance(preferred, dict):
            continue
        weight = selectors.integer(preferred.get("weight"), 0)
        preference = preferred.get("preference")
        if weight and isinstance(preference, dict) and term_matches(preference, node):
            score += weight
    return score
