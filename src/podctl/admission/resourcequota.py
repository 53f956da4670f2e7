"""ResourceQuota (upstream's admission plugin of that name): a write that would take a
namespace past any of its quotas' hard limits is refused in upstream's words.

Usage is counted afresh from the stored objects inside the store's write transaction, not
read from the quotas' status: two concurrent creates are serialized by the transaction, so
the second sees the first and neither can overshoot, and a quota made a moment ago guards
at once (upstream refuses with "status unknown" until its controller caught up)."""

from __future__ import annotations

from fractions import Fraction

from podctl.admission import CREATE, UPDATE, Attributes, Plugin
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.api.resourcequota import (
    Quantity,
    canonical,
    matches,
    namespace_usage,
    object_usage,
    quantity_of,
)
from podctl.errors import Forbidden
from podctl.store import Snapshot, Store

# Upstream still insists that every container name what a compute quota counts.
CONSTRAINED = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu",
               "limits.memory")


class ResourceQuota(Plugin):
    name = "ResourceQuota"

    @classmethod
    def for_store(cls, _store: Store) -> ResourceQuota:
        return cls()

    def handles(self, attrs: Attributes) -> bool:
        if attrs.kind == "Pod":
            return attrs.operation == CREATE
        return attrs.operation in (CREATE, UPDATE) and attrs.kind in meta.NAMESPACED

    def validate(self, attrs: Attributes, view: Snapshot) -> None:
        assert attrs.obj is not None
        quotas = sorted(view.list("ResourceQuota", attrs.namespace), key=meta.name_of)
        if not quotas:
            return
        new = object_usage(attrs.obj)
        old = object_usage(attrs.old) if attrs.old is not None else {}
        grown = {n: q for n, q in new.items()
                 if q.value > (old[n].value if n in old else 0)}
        if not grown:
            return
        concerned = [q for q in quotas if matches(q, attrs.obj) and
                     set((q.get("spec") or {}).get("hard") or {}) & set(grown)]
        if not concerned:
            return  # read the namespace's objects only for a quota that counts this one
        others = [o for o in view.list(attrs.kind, attrs.namespace)
                  if meta.name_of(o) != attrs.name]
        refused = f'{meta.plural(attrs.kind)} "{attrs.name}" is forbidden: '
        for quota in concerned:
            problem = quota_problem(quota, attrs.obj, grown, old, others)
            if problem:
                raise Forbidden(refused + problem)


def quota_problem(quota: Obj, obj: Obj, grown: dict[str, Quantity], old: dict[str, Quantity],
                  others: list[Obj]) -> str | None:
    """Why the quota refuses the object (None when it admits it)."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    if not matches(quota, obj) or not set(hard) & set(grown):
        return None
    name = meta.name_of(quota)
    if obj.get("kind") == "Pod":
        missing = missing_constraints(obj, [n for n in hard if n in CONSTRAINED])
        if missing:
            return f"failed quota: {name}: must specify {missing}"
    used = namespace_usage(quota, others)
    exceeded = []
    for resource in sorted(set(hard) & set(grown)):
        limit = quantity_of(hard[resource])
        if limit is not None and used[resource].value + grown[resource].value > limit.value:
            exceeded.append(resource)
    if not exceeded:
        return None

    def listing(values: dict[str, str]) -> str:
        return ",".join(f"{r}={values[r]}" for r in exceeded)

    requested = {r: canonical(grown[r].value - (old[r].value if r in old else Fraction(0)),
                              grown[r].binary) for r in exceeded}
    return (f"exceeded quota: {name}, requested: {listing(requested)}, "
            f"used: {listing({r: str(used[r]) for r in exceeded})}, "
            f"limited: {listing({r: str(quantity_of(hard[r])) for r in exceeded})}")


def missing_constraints(pod: Obj, required: list[str]) -> str:
    """`limits.cpu for: a,b; limits.memory for: a`: what containers must name and do not
    (upstream's podEvaluator.Constraints); "" when nothing is missing."""
    if not required:
        return ""
    spec = pod.get("spec") or {}
    missing: dict[str, set[str]] = {}
    for ctr in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        resources = ctr.get("resources") or {}
        named = set()
        for resource in (resources.get("requests") or {}):
            if resource in ("cpu", "memory"):
                named |= {resource, f"requests.{resource}"}
        for resource in (resources.get("limits") or {}):
            if resource in ("cpu", "memory"):
                named.add(f"limits.{resource}")
        for resource in required:
            if resource not in named:
                missing.setdefault(resource, set()).add(str(ctr.get("name")))
    return "; ".join(f"{r} for: {','.join(sorted(missing[r]))}" for r in sorted(missing))
