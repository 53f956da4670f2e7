"""The EndpointSlice controller: the discovery.k8s.io/v1 view of a Service's pods, which
kubectl reads for `describe service`. Planned from the same candidates as the Endpoints
(pod selection and port resolution live in podctl.controllers.endpoints), then reconciled
against the slices the Service already owns: matching slices are updated in place, left
over ones are reused for new port sets before anything is created or deleted.

Upstream caps a slice at 100 endpoints and splits beyond; podctl keeps one slice per set
of resolved ports (one slice per Service unless named target ports resolve differently
from pod to pod), which is what upstream does too below 100 endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.endpoints import (
    HEADLESS_LABEL,
    Candidate,
    Port,
    candidates,
    endpoint_port,
    headless,
    managed,
    plan_endpoints,
    pod_hostname,
    selected,
    write_endpoints,
)
from podctl.controllers.owners import owner_reference
from podctl.controllers.replication import generate_name
from podctl.store import Store

KIND = "EndpointSlice"
API_VERSION = "discovery.k8s.io/v1"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
RESERVED_LABELS = (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)
ADDRESS_TYPE = "IPv4"  # podctl's pods have one IPv4 address each


def slice_labels(service: Obj) -> dict[str, str]:
    """The Service's own labels but the reserved ones, then the headless mark, the
    Service's name and the manager."""
    labels = {k: v for k, v in meta.labels_of(service).items() if k not in RESERVED_LABELS}
    if headless(service):
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = meta.name_of(service)
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels


def _endpoint(service: Obj, candidate: Candidate) -> Obj:
    pod = candidate.pod
    endpoint: Obj = {"addresses": [pod["status"]["podIP"]],
                     "conditions": {"ready": candidate.ready(service),
                                    "serving": candidate.serving,
                                    "terminating": candidate.terminating}}
    hostname = pod_hostname(service, pod)
    if hostname:
        endpoint["hostname"] = hostname
    endpoint["targetRef"] = {"kind": "Pod", "namespace": meta.namespace_of(pod),
                             "name": meta.name_of(pod), "uid": meta.uid_of(pod)}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        endpoint["nodeName"] = node
    return endpoint


def _slice_port(port: Port) -> Obj:
    """Upstream names every slice port, "" for the Service's unnamed one: kubectl's
    describe matches slice ports to Service ports by that name."""
    return {"name": port[0], **endpoint_port(port)}


def plan_endpoint_slices(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The slices a Service with a selector should have, given its selected pods with
    their status: one per set of resolved ports, terminating pods included (ready false,
    serving as the pod is); with no endpoint at all, one placeholder without ports."""
    groups: dict[tuple[Port, ...], list[Obj]] = {}
    for candidate in candidates(service, pods):
        groups.setdefault(candidate.ports, []).append(_endpoint(service, candidate))
    if not groups:
        groups[()] = []
    slices = []
    for ports, endpoints in groups.items():
        endpoints.sort(key=lambda e: (e["addresses"][0], e["targetRef"]["uid"]))
        slices.append({
            "apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"generateName": f"{meta.name_of(service)}-",
                         "namespace": meta.namespace_of(service),
                         "labels": slice_labels(service),
                         "ownerReferences": [owner_reference(service)]},
            "addressType": ADDRESS_TYPE,
            # The API keeps empty lists as null, as it serves them.
            "endpoints": endpoints or None,
            "ports": [_slice_port(p) for p in ports] or None,
        })
    return slices


def _port_key(obj: Obj) -> tuple[Port, ...]:
    return tuple((p.get("name", ""), p.get("port"), p.get("protocol", "TCP"),
                  p.get("appProtocol")) for p in obj.get("ports") or [])


def _owned_by(obj: Obj, service: Obj) -> bool:
    return (meta.controller_of(obj) or {}).get("uid") == meta.uid_of(service)


def _same(current: Obj, desired: Obj) -> bool:
    return all(current.get(key) == desired.get(key) for key in ("endpoints", "ports")) and \
        meta.labels_of(current) == meta.labels_of(desired)


@dataclass
class SliceChanges:
    """What reconciling a Service's slices writes: (existing, desired) pairs to update,
    slices to create, slices to delete."""

    update: list[tuple[Obj, Obj]] = field(default_factory=list)
    create: list[Obj] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)


def reconcile(service: Obj, existing: list[Obj], desired: list[Obj]) -> SliceChanges:
    """Match the stored slices to the desired ones (pure). A slice the Service does not own
    (left by a deleted Service of the same name) goes; one whose ports are still wanted
    keeps them; desired slices left over take the names of owned slices left over, as
    upstream turns a create plus a delete into an update."""
    changes = SliceChanges()
    wanted = {_port_key(d): d for d in desired}
    spare: list[Obj] = []
    for current in existing:
        if not _owned_by(current, service) or current.get("addressType") != ADDRESS_TYPE:
            changes.delete.append(current)
            continue
        match = wanted.pop(_port_key(current), None)
        if match is None:
            spare.append(current)
        elif not _same(current, match):
            changes.update.append((current, match))
    for desired_slice in wanted.values():
        if spare:
            changes.update.append((spare.pop(0), desired_slice))
        else:
            changes.create.append(desired_slice)
    changes.delete.extend(spare)
    return changes


def service_slices(store: Store, namespace: str, name: str) -> list[Obj]:
    """The slices labelled for a Service, whoever keeps them (kubectl describe's list)."""
    return [s for s in store.list(KIND, namespace)
            if meta.labels_of(s).get(SERVICE_NAME_LABEL) == name]


def _managed_slices(store: Store, namespace: str, name: str) -> list[Obj]:
    return [s for s in service_slices(store, namespace, name)
            if meta.labels_of(s).get(MANAGED_BY_LABEL) == CONTROLLER_NAME]


def delete_slices(store: Store, namespace: str, name: str) -> int:
    """Remove the controller's slices of a Service that is gone; how many went."""
    return sum(store.delete(KIND, namespace, meta.name_of(s), meta.uid_of(s))
               for s in _managed_slices(store, namespace, name))


def delete_service_endpoints(store: Store, namespace: str, name: str) -> None:
    """What the endpoint controllers do once a Service is gone: its Endpoints and its
    slices go."""
    store.delete("Endpoints", namespace, name)
    delete_slices(store, namespace, name)


def sync_service_endpoints(store: Store, namespace: str, name: str
                           ) -> tuple[str | None, str | None]:
    """Bring one Service's Endpoints and EndpointSlices in line with its pods, read once for
    both; what was done to each, or None."""
    service = store.get("Service", namespace, name)
    if service is None:
        return ("deleted" if store.delete("Endpoints", namespace, name) else None,
                "deleted" if delete_slices(store, namespace, name) else None)
    if not managed(service):
        return None, None
    pods = selected(service, store.list("Pod", namespace))
    return (write_endpoints(store, plan_endpoints(service, pods)),
            _write_slices(store, service, pods))


def _write_slices(store: Store, service: Obj, pods: list[Obj]) -> str | None:
    namespace, name = meta.namespace_of(service), meta.name_of(service)
    existing = _managed_slices(store, namespace, name)
    changes = reconcile(service, existing, plan_endpoint_slices(service, pods))
    done = []
    for current, desired in changes.update:
        if _update(store, current, desired):
            done.append(f"updated {meta.name_of(current)}")
    taken = {meta.name_of(s) for s in store.list(KIND, namespace)}
    for desired in changes.create:
        desired["metadata"]["name"] = generate_name(name, taken)
        taken.add(registry.create(store, desired)["metadata"]["name"])
        done.append(f"created {desired['metadata']['name']}")
    for gone in changes.delete:
        if store.delete(KIND, namespace, meta.name_of(gone), meta.uid_of(gone)):
            done.append(f"deleted {meta.name_of(gone)}")
    return ", ".join(done) or None


def _update(store: Store, current: Obj, desired: Obj) -> bool:
    """Write the desired content over the slice as read; a conflict re-reads the same slice
    (by uid) and writes again with that read's resourceVersion."""
    wrote = False

    def change(fresh: Obj) -> bool:
        nonlocal wrote
        if _same(fresh, desired):
            return False
        fresh["metadata"]["labels"] = dict(desired["metadata"]["labels"])
        # The registry's update counts the change in the slice's generation.
        for key in ("endpoints", "ports"):
            fresh[key] = desired[key]  # the registry's update copies what it stores
        wrote = True
        return True

    registry.mutate(store, KIND, meta.namespace_of(current), meta.name_of(current), change,
                    uid=meta.uid_of(current))
    return wrote
