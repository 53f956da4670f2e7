"""Eviction: the pods/eviction subresource (upstream's EvictionREST), the one eviction both
the API and `podctl drain` use.

An eviction is the pod's graceful delete, with the Eviction's DeleteOptions, unless the
PodDisruptionBudget covering the pod allows no disruption now (429, which kubectl drain
tries again). A terminal, Pending or deleting pod goes whatever the budgets say; a running
one spends one of its budget's allowed disruptions (recorded in the budget's
status.disruptedPods, which the disruption controller clears once the pod is gone), unless
it is not ready and the budget is healthy without it (or says AlwaysAllow). The pod's
delete then carries the resourceVersion the decision was made on, so a pod that became
ready meanwhile is not let go. The Eviction itself is a create: the namespace's lifecycle
is checked as for one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime

from podctl import registry
from podctl.api import meta
from podctl.api.labels import selector_from_label_selector
from podctl.api.meta import Obj
from podctl.controllers.deletion import Deletion, delete_object
from podctl.controllers.disruption import set_allowed_condition
from podctl.controllers.replication import is_ready
from podctl.errors import (
    Conflict,
    Forbidden,
    NamespaceTerminating,
    NotFound,
    Precondition,
    TooManyRequests,
    UnreasonedFailure,
)
from podctl.store import Store

VIOLATES = "Cannot evict pod as it would violate the pod's disruption budget."
# Evictions approved but not yet seen gone by the controller, at most (upstream's
# MaxDisruptedPodSize): past it the budget refuses more.
MAX_DISRUPTED_PODS = 2000
RETRIES = 20  # conflicts on the budget's status before the eviction gives up
# The seconds a client is asked to wait while a budget's new spec is not yet counted.
PROCESSING_RETRY_SECONDS = 10


def evict(store: Store, namespace: str, name: str, *, grace: int | None = None,
          uid: str | None = None, resource_version: str | None = None,
          dry_run: bool = False) -> Deletion:
    """Evict the pod: NotFound when it (or its namespace) is not there, Forbidden in a
    namespace being deleted (whose pods are being deleted anyway), TooManyRequests when
    its budget allows no disruption now, else its delete."""
    ns = store.get("Namespace", "", namespace)
    if ns is None:
        raise NotFound("namespaces", namespace)
    if ns["metadata"].get("deletionTimestamp"):
        raise NamespaceTerminating("pods", name, namespace)

    def delete(version: str | None) -> Deletion:
        return delete_object(store, "Pod", namespace, name, grace=grace, uid=uid,
                             resource_version=version, dry_run=dry_run)

    pod = _running_or_deleted(store, namespace, name, resource_version, delete)
    if isinstance(pod, Deletion):
        return pod
    pinned, budget = _spend_budget(store, pod, dry_run)
    if not pinned:
        return delete(resource_version)
    try:
        return delete(resource_version or str(pod["metadata"]["resourceVersion"]))
    except (Conflict, Precondition):
        if resource_version is None:
            # It became ready after it was judged: judged again by the client's retry.
            raise _processing(budget) from None
        raise


def _running_or_deleted(store: Store, namespace: str, name: str, resource_version: str | None,
                        delete: Callable[[str | None], Deletion]) -> Obj | Deletion:
    """The pod, when its budget must be asked; else its delete, done. A Pending pod's
    delete carries the version judged, so one that started running meanwhile is judged
    again (a conflict, tried again unless the caller named a version)."""
    attempts = 0
    while True:
        attempts += 1
        pod = store.get("Pod", namespace, name)
        if pod is None:
            raise NotFound("pods", name)
        if not _budgets_ignored(pod):
            return pod
        version = resource_version or (pod["metadata"]["resourceVersion"]
                                       if _enforce_version(pod) else None)
        try:
            return delete(version)
        except (Conflict, Precondition):
            if resource_version is not None or attempts >= RETRIES:
                raise


def _budgets_ignored(pod: Obj) -> bool:
    """canIgnorePDB: a finished, Pending or deleting pod disrupts nothing more."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(
        pod["metadata"].get("deletionTimestamp"))


def _enforce_version(pod: Obj) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get(
        "deletionTimestamp")


def _covering(store: Store, pod: Obj) -> list[Obj]:
    """The budgets the eviction honours for the pod: an empty or null selector covers
    nothing here (upstream's eviction says so, whatever the controller counts)."""
    out = []
    for pdb in store.list("PodDisruptionBudget", meta.namespace_of(pod)):
        selector = (pdb.get("spec") or {}).get("selector")
        if not selector:
            continue
        parsed = selector_from_label_selector(selector)
        if not parsed.is_empty() and parsed.matches(meta.labels_of(pod)):
            out.append(pdb)
    return out


def _spend_budget(store: Store, pod: Obj, dry_run: bool) -> tuple[bool, str]:
    """The budget's check for a running pod, or its refusal: whether the pod's delete
    must carry the resourceVersion judged (an unready pod let go without spending the
    budget), and the budget's name."""
    budgets = _covering(store, pod)
    if len(budgets) > 1:
        raise UnreasonedFailure("This pod has more than one PodDisruptionBudget, which the "
                                "eviction subresource does not support.")
    if not budgets:
        return False, ""
    pdb = budgets[0]
    name = meta.name_of(pdb)
    status = pdb.get("status") or {}
    if not is_ready(pod):
        healthy, desired = status.get("currentHealthy", 0), status.get("desiredHealthy", 0)
        if (pdb["spec"].get("unhealthyPodEvictionPolicy") == "AlwaysAllow"
                or (healthy >= desired and desired > 0)):
            return True, name
    for _ in range(RETRIES):
        if _check_and_decrement(store, pdb, meta.name_of(pod), dry_run):
            return False, name
        fresh = store.get("PodDisruptionBudget", meta.namespace_of(pdb), name)
        if fresh is None:
            return False, name
        pdb = fresh
    raise _processing(name)


def _check_and_decrement(store: Store, pdb: Obj, pod_name: str, dry_run: bool) -> bool:
    """One allowed disruption spent, written at the budget's resourceVersion; False on a
    conflict (read it again), a refusal when none is left."""
    name = meta.name_of(pdb)
    status = copy.deepcopy(pdb.get("status") or {})
    if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
        raise _processing(name)
    allowed = int(status.get("disruptionsAllowed", 0))
    if allowed < 0:
        raise Forbidden(f'poddisruptionbudgets.policy "{name}" is forbidden: pdb '
                        "disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise Forbidden(f'poddisruptionbudgets.policy "{name}" is forbidden: DisruptedPods '
                        "map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise TooManyRequests(VIOLATES, f"The disruption budget {name} needs "
                              f"{status.get('desiredHealthy', 0)} healthy pods and has "
                              f"{status.get('currentHealthy', 0)} currently")
    status["disruptionsAllowed"] = allowed - 1
    now = datetime.now(UTC)
    if allowed == 1:
        set_allowed_condition(status, now)
    if dry_run:
        return True
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}),
                               pod_name: meta.format_time(now)}
    try:
        registry.update_status(store, {**pdb, "status": status})
    except Conflict:
        return False
    return True


def _processing(name: str) -> TooManyRequests:
    return TooManyRequests(VIOLATES, f"The disruption budget {name} is still being "
                           "processed by the server.", PROCESSING_RETRY_SECONDS)
