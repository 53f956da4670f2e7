"""LimitRanger (upstream's admission plugin of that name): a new pod's containers get the
namespace's LimitRanges' `default` limits and `defaultRequest` requests where they name
none, then pods and claims are held to the ranges' min, max and maxLimitRequestRatio,
refused in upstream's words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podctl.admission import CREATE, UPDATE, Attributes, Plugin
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.api.resourcequota import Quantity, quantity_of
from podctl.errors import Forbidden
from podctl.store import Snapshot, Store

ANNOTATION = "kubernetes.io/limit-ranger"
Resources = dict[str, Any]


class LimitRanger(Plugin):
    name = "LimitRanger"

    @classmethod
    def for_store(cls, _store: Store) -> LimitRanger:
        return cls()

    def handles(self, attrs: Attributes) -> bool:
        # A pod's containers cannot change after its create; a claim may grow.
        if attrs.kind == "Pod":
            return attrs.operation == CREATE
        return attrs.kind == "PersistentVolumeClaim" and attrs.operation in (CREATE, UPDATE)

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        assert attrs.obj is not None
        if attrs.kind == "Pod":
            apply_defaults(attrs.obj, _items(view, attrs.namespace, "Container"))

    def validate(self, attrs: Attributes, view: Snapshot) -> None:
        assert attrs.obj is not None
        check = pod_problems if attrs.kind == "Pod" else claim_problems
        problems: list[str] = []
        for limit_range in sorted(view.list("LimitRange", attrs.namespace), key=meta.name_of):
            for item in (limit_range.get("spec") or {}).get("limits") or []:
                problems += check(attrs.obj, item)
        if problems:
            detail = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
            raise Forbidden(f'{meta.plural(attrs.kind)} "{attrs.name}" is forbidden: {detail}')


def _items(view: Snapshot, namespace: str, limit_type: str) -> list[Obj]:
    return [item for lr in sorted(view.list("LimitRange", namespace), key=meta.name_of)
            for item in (lr.get("spec") or {}).get("limits") or []
            if item.get("type") == limit_type]


def apply_defaults(pod: Obj, items: list[Obj]) -> None:
    """Every container's missing requests and limits from the ranges (the last by name wins,
    as upstream's defaultContainerResourceRequirements), noted in the pod's annotation."""
    if not items:
        return
    limits: Resources = {}
    requests: Resources = {}
    for item in items:
        limits.update(item.get("default") or {})
        requests.update(item.get("defaultRequest") or {})
    notes: list[str] = []
    spec = pod.get("spec") or {}
    for kind, containers in (("container", spec.get("containers") or []),
                             ("init container", spec.get("initContainers") or [])):
        for ctr in containers:
            notes += _merge(ctr, kind, requests, limits)
    if notes:
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _merge(ctr: Obj, kind: str, requests: Resources, limits: Resources) -> list[str]:
    resources = ctr.setdefault("resources", {})
    have_limits = resources.setdefault("limits", {})
    have_requests = resources.setdefault("requests", {})
    set_limits = sorted(n for n in limits if n not in have_limits)
    for name in set_limits:
        have_limits[name] = limits[name]
    set_requests = sorted(n for n in requests if n not in have_requests)
    for name in set_requests:
        have_requests[name] = requests[name]
    for section in ("limits", "requests"):
        if not resources[section]:
            del resources[section]
    notes = []
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for {kind} {ctr.get('name')}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for {kind} {ctr.get('name')}")
    return notes


def _list(resources: Any) -> dict[str, Quantity]:
    out = {}
    for name, raw in (resources or {}).items():
        found = quantity_of(raw)
        if found is not None:
            out[name] = found
    return out


def _q(value: Quantity) -> str:
    return str(value)


def min_constraint(kind: str, name: str, enforced: Quantity, requests: dict[str, Quantity],
                   limits: dict[str, Quantity]) -> str | None:
    if name not in requests:
        return f"minimum {name} usage per {kind} is {_q(enforced)}.  No request is specified"
    if requests[name].value < enforced.value:
        return (f"minimum {name} usage per {kind} is {_q(enforced)}, but request is "
                f"{_q(requests[name])}")
    if name in limits and limits[name].value < enforced.value:
        return (f"minimum {name} usage per {kind} is {_q(enforced)}, but limit is "
                f"{_q(limits[name])}")
    return None


def max_constraint(kind: str, name: str, enforced: Quantity, requests: dict[str, Quantity],
                   limits: dict[str, Quantity]) -> str | None:
    if name not in limits:
        return f"maximum {name} usage per {kind} is {_q(enforced)}.  No limit is specified"
    if limits[name].value > enforced.value:
        return (f"maximum {name} usage per {kind} is {_q(enforced)}, but limit is "
                f"{_q(limits[name])}")
    if name in requests and requests[name].value > enforced.value:
        return (f"maximum {name} usage per {kind} is {_q(enforced)}, but request is "
                f"{_q(requests[name])}")
    return None


def ratio_constraint(kind: str, name: str, enforced: Quantity, requests: dict[str, Quantity],
                     limits: dict[str, Quantity]) -> str | None:
    head = f"{name} max limit to request ratio per {kind} is {_q(enforced)}"
    if name not in requests or requests[name].value == 0:
        return f"{head}, but no request is specified or request is 0"
    if name not in limits or limits[name].value == 0:
        return f"{head}, but no limit is specified or limit is 0"
    ratio = limits[name].value / requests[name].value
    if ratio > enforced.value:
        return f"{head}, but provided ratio is {float(ratio):f}"
    return None


Constraint = Callable[[str, str, Quantity, dict[str, Quantity], dict[str, Quantity]],
                      str | None]


def _bounds(kind: str, item: Obj, requests: dict[str, Quantity],
            limits: dict[str, Quantity]) -> list[str]:
    out = []
    constraints: tuple[tuple[str, Constraint], ...] = (
        ("min", min_constraint), ("max", max_constraint),
        ("maxLimitRequestRatio", ratio_constraint))
    for field, constraint in constraints:
        for name, enforced in sorted(_list(item.get(field)).items()):
            problem = constraint(kind, name, enforced, requests, limits)
            if problem:
                out.append(problem)
    return out


def pod_problems(pod: Obj, item: Obj) -> list[str]:
    """What one range item refuses in a pod (upstream's PodValidateLimitFunc)."""
    spec = pod.get("spec") or {}
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    if item.get("type") == "Container":
        out = []
        for ctr in containers:
            resources = ctr.get("resources") or {}
            out += _bounds("Container", item, _list(resources.get("requests")),
                           _list(resources.get("limits")))
        return out
    if item.get("type") == "Pod":
        return _bounds("Pod", item, _pod_total(spec, "requests"), _pod_total(spec, "limits"))
    return []


def _pod_total(spec: Obj, section: str) -> dict[str, Quantity]:
    """Sum over app containers, raised to any init container's, as upstream's podRequests."""
    total: dict[str, Quantity] = {}
    for ctr in spec.get("containers") or []:
        for name, q in _list((ctr.get("resources") or {}).get(section)).items():
            if name in total:
                total[name] = Quantity(total[name].value + q.value, total[name].binary)
            else:
                total[name] = q
    for ctr in spec.get("initContainers") or []:
        for name, q in _list((ctr.get("resources") or {}).get(section)).items():
            if name not in total or total[name].value < q.value:
                total[name] = q
    return total


def claim_problems(claim: Obj, item: Obj) -> list[str]:
    """A claim's storage request against a PersistentVolumeClaim range's min and max."""
    if item.get("type") != "PersistentVolumeClaim":
        return []
    requests = _list(((claim.get("spec") or {}).get("resources") or {}).get("requests"))
    out = []
    for name, enforced in sorted(_list(item.get("min")).items()):
        problem = min_constraint("PersistentVolumeClaim", name, enforced, requests, {})
        if problem:
            out.append(problem)
    for name, enforced in sorted(_list(item.get("max")).items()):
        if name not in requests:
            out.append(f"maximum {name} usage per PersistentVolumeClaim is {_q(enforced)}.  "
                       "No request is specified")
        elif requests[name].value > enforced.value:
            out.append(f"maximum {name} usage per PersistentVolumeClaim is {_q(enforced)}, "
                       f"but request is {_q(requests[name])}")
    return out
