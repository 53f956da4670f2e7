"""The endpoints controller: each Service with a selector has an Endpoints object listing
its pods, ready ones as addresses and the rest as notReadyAddresses; plan, then write only
what changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podctl import registry
from podctl.api import meta
from podctl.api.labels import selector_from_map
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists
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


def pod_hostname(service: Obj, pod: Obj) -> str | None:
    """The pod's hostname when its subdomain is the Service (ShouldSetHostname)."""
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == meta.name_of(service):
        return str(spec["hostname"])
    return None


def _address(service: Obj, pod: Obj) -> Obj:
    spec = pod.get("spec") or {}
    address: Obj = {"ip": pod["status"]["podIP"]}
    hostname = pod_hostname(service, pod)
    if hostname:
        address["hostname"] = hostname
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    address["targetRef"] = {"kind": "Pod", "namespace": meta.namespace_of(pod),
                            "name": meta.name_of(pod), "uid": meta.uid_of(pod)}
    return address


# A resolved Service port: (name, number, protocol, appProtocol or None).
Port = tuple[str, int, str, str | None]


@dataclass(frozen=True)
class Candidate:
    """A selected pod that may be an endpoint, with the Service ports it resolves."""

    pod: Obj
    ports: tuple[Port, ...]
    serving: bool  # the pod is Ready
    terminating: bool

    def ready(self, service: Obj) -> bool:
        """Ready as both controllers mean it: never while terminating, unless the Service
        publishes not-ready addresses."""
        return bool(service["spec"].get("publishNotReadyAddresses")) or \
            (self.serving and not self.terminating)


def candidates(service: Obj, pods: list[Obj]) -> list[Candidate]:
    """The pods that may be endpoints (ShouldPodBeInEndpoints, terminating ones included)
    with the ports each resolves (FindPort per Service port; an unresolved port is left
    out). Shared by the Endpoints and the EndpointSlice plans."""
    out = []
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") in TERMINAL_PHASES or not status.get("podIP"):
            continue
        ports: list[Port] = []
        for service_port in service["spec"].get("ports") or []:
            number = find_port(pod, service_port)
            if number is not None:
                ports.append((service_port.get("name", ""), number,
                              service_port.get("protocol", "TCP"),
                              service_port.get("appProtocol")))
        out.append(Candidate(pod, tuple(ports), _ready(pod),
                             bool(pod["metadata"].get("deletionTimestamp"))))
    return out


def headless(service: Obj) -> bool:
    return bool(service["spec"].get("clusterIP") == "None")


def plan_endpoints(service: Obj, pods: list[Obj]) -> Obj:
    """The Endpoints a Service with a selector should have, given its selected pods with
    their status (syncService of the endpoints controller)."""
    spec = service["spec"]
    publish = bool(spec.get("publishNotReadyAddresses"))
    subsets: dict[tuple[Port, ...], dict[str, list[Obj]]] = {}
    for candidate in candidates(service, pods):
        if candidate.terminating and not publish:
            continue
        if spec.get("ports") and not candidate.ports:
            continue
        bucket = subsets.setdefault(candidate.ports,
                                    {"addresses": [], "notReadyAddresses": []})
        field = "addresses" if candidate.ready(service) else "notReadyAddresses"
        bucket[field].append(_address(service, candidate.pod))
    labels = dict(meta.labels_of(service))
    if headless(service):
        labels[HEADLESS_LABEL] = ""
    metadata: Obj = {"name": meta.name_of(service), "namespace": meta.namespace_of(service)}
    if labels:
        metadata["labels"] = labels
    endpoints: Obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": metadata}
    packed = [_subset(ports, bucket) for ports, bucket in subsets.items()]
    if packed:
        endpoints["subsets"] = packed
    return endpoints


def endpoint_port(port: Port) -> Obj:
    """An EndpointPort, as both APIs spell it (an unnamed port has no name here)."""
    name, number, protocol, app_protocol = port
    out: Obj = {**({"name": name} if name else {}), "port": number, "protocol": protocol}
    if app_protocol:
        out["appProtocol"] = app_protocol
    return out


def _subset(ports: tuple[Port, ...], bucket: dict[str, list[Obj]]) -> Obj:
    subset: Obj = {}
    for field in ("addresses", "notReadyAddresses"):
        if bucket[field]:
            subset[field] = sorted(bucket[field],
                                   key=lambda a: (a["ip"], a["targetRef"]["uid"]))
    if ports:
        subset["ports"] = [endpoint_port(port) for port in ports]
    return subset


def _same(current: Obj, desired: Obj) -> bool:
    return (current.get("subsets") or []) == (desired.get("subsets") or []) and \
        meta.labels_of(current) == meta.labels_of(desired)


def write_endpoints(store: Store, desired: Obj) -> str | None:
    """Create or update the Endpoints when they differ from `desired`."""
    namespace, name = meta.namespace_of(desired), meta.name_of(desired)
    if store.get("Endpoints", namespace, name) is None:
        try:
            registry.create(store, desired)
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

    registry.mutate(store, "Endpoints", namespace, name, change)
    return "updated" if wrote else None


def _replace(target: Obj, key: str, value: Any) -> None:
    """Set `key`, or drop it for an empty value (as the API server omits empty fields)."""
    if value:
        target[key] = value
    else:
        target.pop(key, None)
