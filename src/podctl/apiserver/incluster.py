"""The API from inside pods, as the API server publishes itself: it also listens, over TLS,
on the host's address on the pod network (the bridge's gateway, which pods of the host
reach directly and pods of node containers through their node's route), and the
`kubernetes` Service in `default` gets Endpoints and an EndpointSlice naming that address
and port (upstream's endpoint reconciler), its targetPort that port. The data plane then
sends the Service's cluster IP:443 there from every node. The certificate names the
gateway, the cluster IP and kubernetes.default.svc(.cluster.local)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from podctl import registry
from podctl.admission.serviceips import KUBERNETES, ensure_kubernetes_service
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, Conflict, DockerUnavailable, NotFound
from podctl.store import Store

log = logging.getLogger("podctl.apiserver")

SERVICE_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local")
SLICE_LABEL = "kubernetes.io/service-name"
PORT_NAME = "https"


class InCluster(NamedTuple):
    gateway: str  # the host's address on the pod network
    cluster_ip: str  # the `kubernetes` Service's

    def names(self) -> list[str]:
        """What the serving certificate must name for in-cluster clients."""
        return [self.gateway, self.cluster_ip, *SERVICE_NAMES]


def find(store: Store, home: Path) -> InCluster | None:
    """Where pods reach the API, or None with the engine down (the API still serves the
    host)."""
    from podctl.home import home_id
    from podctl.runtime.network import gateway_ip
    from podctl.runtime.servicenet import reserve_service_range

    try:
        service = ensure_kubernetes_service(
            store, lambda: reserve_service_range(home_id(home)))
        gateway = gateway_ip()
    except DockerUnavailable as exc:
        log.warning("pods cannot reach the API: the Docker engine does not answer (%s)",
                    exc.detail)
        return None
    if not gateway:
        return None
    return InCluster(gateway, str(service["spec"]["clusterIP"]))


def endpoints(ip: str, port: int) -> Obj:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": KUBERNETES, "namespace": "default",
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": ip}],
                         "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}]}


def endpoint_slice(ip: str, port: int) -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": KUBERNETES, "namespace": "default",
                         "labels": {SLICE_LABEL: KUBERNETES}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
            "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}


def _put(store: Store, wanted: Obj, fields: tuple[str, ...]) -> None:
    """Create, or update the fields that differ (with the resourceVersion it read)."""
    kind, md = wanted["kind"], wanted["metadata"]
    for _ in range(3):
        found = store.get(kind, md["namespace"], md["name"])
        try:
            if found is None:
                registry.create(store, wanted)
            elif any(found.get(f) != wanted[f] for f in fields):
                registry.update(store, {**found, **{f: wanted[f] for f in fields}})
            return
        except (AlreadyExists, Conflict):
            continue


def _target_port(port: int) -> Callable[[Obj], bool]:
    def change(service: Obj) -> bool:
        ports = service["spec"].get("ports") or []
        if not ports or ports[0].get("targetPort") == port:
            return False
        ports[0]["targetPort"] = port
        return True

    return change


def publish(store: Store, where: InCluster, port: int) -> None:
    """The `kubernetes` Service's targetPort, Endpoints and EndpointSlice: the API at
    where.gateway:port."""
    registry.mutate(store, "Service", "default", KUBERNETES, _target_port(port))
    _put(store, endpoints(where.gateway, port), ("subsets",))
    _put(store, endpoint_slice(where.gateway, port), ("endpoints", "ports"))


def withdraw(store: Store) -> None:
    """No endpoints once the API stops serving pods (upstream's reconciler removes its
    address on shutdown)."""
    for kind in ("Endpoints", "EndpointSlice"):
        with contextlib.suppress(NotFound):
            store.delete(kind, "default", KUBERNETES)
