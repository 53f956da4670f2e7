"""The endpoints controller: each Service with a selector has an Endpoints object listing
its pods, ready ones as addresses and the rest as notReadyAddresses; plan, then write only
what changed."""

from __future__ import annotations

from typing import Any

from podctl.api import meta
from podctl.api.labels import selector_from_map
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists
from podctl.kubelet.observed import pods_with_status
from podctl.store import Store

HEADLESS_LABEL = "service.kubernetes.io/headless"
TERMINAL_PHASES = ("Succeeded", "Failed")


def managed(service: Obj) -> bool:
    """Whether the controller keeps this Service's Endpoints (else the user does)."""
    spec = service.get("spec") or {}
    return bool(spec.get("selector")) and spec.get("type") != "ExternalName"


def selected(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The pods of the Service's namespace its selector matches."""
    selector = selector_from_map(service["spec"]["selector"])
    namespace = meta.namespace_of(service)
    return [p for p in pods if meta.namespace_of(p) == namespace
            and selector.matches(meta.labels_of(p))]


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """podutil.FindPort: a number as is; a name from the pod's containers' ports, with the
    service port's protocol too; None when no container names it."""
    target = service_port.get("targetPort", service_port["port"])
    if isinstance(target, int):
        return target
    protocol = service_port.get("protocol", "TCP")
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for container in [*(spec.get("containers") or []), *sidecars]:
        for port in container.get("ports") or []:
            if port.get("name") == target and port.get("protocol", "TCP") == protocol:
                return int(port["containerPort"])
    return None


def _ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _address(service: Obj, pod: Obj) -> Obj:
    spec = pod.get("spec") or {}
    address: Obj = {"ip": pod["status"]["podIP"]}
    if spec.get("hostname") and spec.get("subdomain") == meta.name_of(service):
        address["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    address["targetRef"] = {"kind": "Pod", "namespace": meta.namespace_of(pod),
                            "name": meta.name_of(pod), "uid": meta.uid_of(pod)}
    return address


def plan_endpoints(service: Obj, pods: list[Obj]) -> Obj:
    """The Endpoints a Service with a selector should have, given its selected pods with
    their status (syncService of the endpoints controller)."""
    spec = service["spec"]
    publish = bool(spec.get("publishNotReadyAddresses"))
    subsets: dict[tuple[tuple[str, int, str], ...], dict[str, list[Obj]]] = {}
    for pod in pods:
        status = pod.get("status") or {}
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        if status.get("phase") in TERMINAL_PHASES or not status.get("podIP"):
            continue
        if terminating and not publish:
            continue
        ports = []
        for service_port in spec.get("ports") or []:
            number = find_port(pod, service_port)
            if number is not None:
                ports.append((service_port.get("name", ""), number,
                              service_port.get("protocol", "TCP")))
        if spec.get("ports") and not ports:
            continue
        ready = publish or (_ready(pod) and not terminating)
        bucket = subsets.setdefault(tuple(ports), {"addresses": [], "notReadyAddresses": []})
        bucket["addresses" if ready else "notReadyAddresses"].append(_address(service, pod))
    labels = dict(meta.labels_of(service))
    if spec.get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    metadata: Obj = {"name": meta.name_of(service), "namespace": meta.namespace_of(service)}
    if labels:
        metadata["labels"] = labels
    endpoints: Obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": metadata}
    packed = [_subset(ports, bucket) for ports, bucket in subsets.items()]
    if packed:
        endpoints["subsets"] = packed
    return endpoints


def _subset(ports: tuple[tuple[str, int, str], ...], bucket: dict[str, list[Obj]]) -> Obj:
    subset: Obj = {}
    for field in ("addresses", "notReadyAddresses"):
        if bucket[field]:
            subset[field] = sorted(bucket[field],
                                   key=lambda a: (a["ip"], a["targetRef"]["uid"]))
    if ports:
        subset["ports"] = [{**({"name": name} if name else {}), "port": number,
                            "protocol": protocol} for name, number, protocol in ports]
    return subset


def _same(current: Obj, desired: Obj) -> bool:
    return (current.get("subsets") or []) == (desired.get("subsets") or []) and \
        meta.labels_of(current) == meta.labels_of(desired)


def sync_endpoints(store: Store, namespace: str, name: str) -> str | None:
    """Bring one Service's Endpoints in line with its pods; what was done, or None."""
    service = store.get("Service", namespace, name)
    if service is None:
        return "deleted" if store.delete("Endpoints", namespace, name) else None
    if not managed(service):
        return None
    pods = pods_with_status(store, selected(service, store.list("Pod", namespace)))
    desired = plan_endpoints(service, pods)
    return write_endpoints(store, desired)


def write_endpoints(store: Store, desired: Obj) -> str | None:
    """Create or update the Endpoints when they differ from `desired`."""
    namespace, name = meta.namespace_of(desired), meta.name_of(desired)
    if store.get("Endpoints", namespace, name) is None:
        try:
            store.create(desired)
            return "created"
        except AlreadyExists:
            pass
    wrote = False

    def change(current: Obj) -> bool:
        nonlocal wrote
        if _same(current, desired):
            return False
        _replace(current["metadata"], "labels", desired["metadata"].get("labels"))
        _replace(current, "subsets", desired.get("subsets"))
        wrote = True
        return True

    store.mutate("Endpoints", namespace, name, change)
    return "updated" if wrote else None


def _replace(target: Obj, key: str, value: Any) -> None:
    """Set `key`, or drop it for an empty value (as the API server omits empty fields)."""
    if value:
        target[key] = value
    else:
        target.pop(key, None)
