"""ResourceQuota's arithmetic, as upstream's quota evaluators (pkg/quota/v1/evaluator/core):
what an object uses of a quota's resources, which pods a quota's scopes match, and
quantities written as the API server writes them (Quantity.String)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.api.quantity import parse_quantity

Usage = dict[str, Fraction]

# Object counts a quota may name by a bare word, and the kind each counts.
COUNTED = {"pods": "Pod", "services": "Service", "configmaps": "ConfigMap",
           "secrets": "Secret", "persistentvolumeclaims": "PersistentVolumeClaim",
           "replicationcontrollers": "ReplicationController",
           "resourcequotas": "ResourceQuota"}
COMPUTE = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
          "CrossNamespacePodAffinity", "VolumeAttributesClass")
POD_SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort")
_BINARY = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20),
           ("Ki", 2**10))
_DECIMAL = (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3), ("", 0),
            ("m", -3), ("u", -6), ("n", -9))


class Quantity:
    """An exact value and whether it is written in binary units, as a parsed Quantity."""

    __slots__ = ("binary", "value")

    def __init__(self, value: Fraction, binary: bool = False) -> None:
        self.value, self.binary = value, binary

    def __str__(self) -> str:
        return canonical(self.value, self.binary)


def is_binary(raw: Any) -> bool:
    return isinstance(raw, str) and raw.rstrip("0123456789").endswith("i")


def canonical(value: Fraction, binary: bool = False) -> str:
    """Quantity.String: the largest unit that keeps the number whole; binary units only for
    whole values of 1024 and more; below a nano rounded up to 1n."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if binary and value.denominator == 1 and value >= 1024:
        for suffix, size in _BINARY:
            if value % size == 0:
                return f"{sign}{value // size}{suffix}"
        return f"{sign}{value}"
    for suffix, exponent in _DECIMAL:
        scaled = value / Fraction(10) ** exponent
        if scaled.denominator == 1:
            return f"{sign}{scaled.numerator}{suffix}"
    nanos = -(-value.numerator * 10**9 // value.denominator)  # rounded up
    return f"{sign}{nanos}n"


def quantity_of(raw: Any) -> Quantity | None:
    value = parse_quantity(raw) if isinstance(raw, str | int | float) else None
    return None if value is None else Quantity(value, is_binary(raw))


def canonical_list(resources: Any) -> dict[str, str]:
    """A ResourceList as the API server stores it: every quantity in its canonical form."""
    out: dict[str, str] = {}
    for name, raw in (resources or {}).items():
        found = quantity_of(raw)
        out[name] = str(found) if found is not None else str(raw)
    return out


def _add(usage: dict[str, Quantity], name: str, raw: Any) -> None:
    found = quantity_of(raw)
    if found is None:
        return
    if name in usage:
        usage[name].value += found.value
    else:
        usage[name] = Quantity(found.value, found.binary)


def _containers_total(pod: Obj, section: str) -> dict[str, Quantity]:
    """A pod's effective requests or limits: the sum over its app containers, raised to any
    one init container's (they run alone), plus the pod's overhead."""
    spec = pod.get("spec") or {}
    total: dict[str, Quantity] = {}
    for ctr in spec.get("containers") or []:
        for name, raw in ((ctr.get("resources") or {}).get(section) or {}).items():
            _add(total, name, raw)
    for ctr in spec.get("initContainers") or []:
        for name, raw in ((ctr.get("resources") or {}).get(section) or {}).items():
            found = quantity_of(raw)
            if found is None:
                continue
            if name not in total or total[name].value < found.value:
                total[name] = found
    for name, raw in (spec.get("overhead") or {}).items():
        _add(total, name, raw)
    return total


def pod_usage(pod: Obj) -> dict[str, Quantity]:
    """What a live pod uses (upstream's PodUsageFunc); nothing for a finished pod."""
    if not counts_pod(pod):
        return {}
    out = {"pods": Quantity(Fraction(1)), "count/pods": Quantity(Fraction(1))}
    for name, q in _containers_total(pod, "requests").items():
        if name in ("cpu", "memory", "ephemeral-storage"):
            out[f"requests.{name}"] = q
            out[name] = q
        elif name.startswith("hugepages-"):
            out[f"requests.{name}"] = q
    for name, q in _containers_total(pod, "limits").items():
        if name in ("cpu", "memory", "ephemeral-storage"):
            out[f"limits.{name}"] = q
    return out


def counts_pod(pod: Obj) -> bool:
    """A pod counts until it finished (Succeeded, Failed) — upstream's QuotaV1Pod."""
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def object_usage(obj: Obj) -> dict[str, Quantity]:
    """What one object uses: its count by both names, and what its kind measures."""
    kind = str(obj.get("kind"))
    if kind == "Pod":
        return pod_usage(obj)
    one = Fraction(1)
    out = {f"count/{meta.plural(kind)}": Quantity(one)}
    for word, counted in COUNTED.items():
        if counted == kind:
            out[word] = Quantity(one)
    spec = obj.get("spec") or {}
    if kind == "Service":
        service_type = spec.get("type") or "ClusterIP"
        node_ports = len(spec.get("ports") or [])
        if service_type in ("NodePort", "LoadBalancer"):
            out["services.nodeports"] = Quantity(Fraction(node_ports))
        if service_type == "LoadBalancer":
            out["services.loadbalancers"] = Quantity(one)
    elif kind == "PersistentVolumeClaim":
        storage = quantity_of(((spec.get("resources") or {}).get("requests") or {})
                              .get("storage"))
        if storage is not None:
            out["requests.storage"] = storage
            claim_class = spec.get("storageClassName") or ""
            if claim_class:
                prefix = claim_class + STORAGE_CLASS_SUFFIX
                out[prefix + "requests.storage"] = storage
                out[prefix + "persistentvolumeclaims"] = Quantity(one)
    return out


def _best_effort(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    for ctr in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        resources = ctr.get("resources") or {}
        if resources.get("requests") or resources.get("limits"):
            return False
    return True


def _scope_matches(scope: str, pod: Obj) -> bool:
    deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds") is not None
    return {"Terminating": deadline, "NotTerminating": not deadline,
            "BestEffort": _best_effort(pod), "NotBestEffort": not _best_effort(pod)
            }.get(scope, False)


def _selector_scopes(quota: Obj) -> list[tuple[str, str, list[str]]]:
    selector = (quota.get("spec") or {}).get("scopeSelector") or {}
    return [(str(e.get("scopeName")), str(e.get("operator")), list(e.get("values") or []))
            for e in selector.get("matchExpressions") or []]


def _expression_matches(scope: str, operator: str, values: list[str], pod: Obj) -> bool:
    if scope == "PriorityClass":
        name = (pod.get("spec") or {}).get("priorityClassName") or ""
        return {"In": name in values, "NotIn": name not in values,
                "Exists": bool(name), "DoesNotExist": not name}.get(operator, False)
    return _scope_matches(scope, pod) == (operator != "DoesNotExist")


def matches(quota: Obj, obj: Obj) -> bool:
    """Whether the quota's scopes (and scope selector) take in the object: every scope
    must match. Only pods are scoped; a scoped quota takes no other kind."""
    scopes = list((quota.get("spec") or {}).get("scopes") or [])
    expressions = _selector_scopes(quota)
    if not scopes and not expressions:
        return True
    if obj.get("kind") != "Pod":
        return False
    return all(_scope_matches(s, obj) for s in scopes) and \
        all(_expression_matches(s, o, v, obj) for s, o, v in expressions)


def namespace_usage(quota: Obj, objects: list[Obj]) -> dict[str, Quantity]:
    """The quota's resources as the namespace's objects use them now (upstream's
    CalculateUsage): every hard resource, 0 where nothing uses it."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    used: dict[str, Quantity] = {name: Quantity(Fraction(0), False) for name in hard}
    for obj in objects:
        if not matches(quota, obj):
            continue
        for name, q in object_usage(obj).items():
            if name in used:
                if used[name].value == 0 and not used[name].binary:
                    used[name].binary = q.binary
                used[name].value += q.value
    return used


def kinds_measured(hard: dict[str, Any]) -> set[str]:
    """The kinds whose objects a quota's hard resources count."""
    kinds: set[str] = set()
    for name in hard:
        if name in COUNTED:
            kinds.add(COUNTED[name])
        elif name in COMPUTE or (name.startswith(("requests.", "limits."))
                                 and name != "requests.storage"):
            kinds.add("Pod")
        elif name.startswith("services."):
            kinds.add("Service")
        elif name == "requests.storage" or STORAGE_CLASS_SUFFIX in name:
            kinds.add("PersistentVolumeClaim")
        elif name.startswith("count/"):
            kind = _kind_of_count(name.removeprefix("count/"))
            if kind:
                kinds.add(kind)
    return kinds


def _kind_of_count(resource: str) -> str | None:
    return next((kind for kind in list(meta.RESOURCES) if meta.plural(kind) == resource), None)
