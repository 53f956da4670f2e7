"""The Service allocator: cluster IPs from the home's /24, node ports from 30000-32767, and
the `kubernetes` Service in `default`, as the API server's Service registry allocates them
on create and update. An admission plugin: it allocates inside the write transaction, so
two Services created at once never get the same address or port."""

from __future__ import annotations

import copy
import ipaddress
import random
import socket
from collections.abc import Callable, Iterable
from typing import Any

from podctl.admission import CREATE, UPDATE, Attributes, Plugin
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, Invalid
from podctl.store import Snapshot, Store

Reserve = Callable[[], ipaddress.IPv4Network]
PortFree = Callable[[int, str], bool]

NODE_PORT_MIN, NODE_PORT_MAX = 30000, 32767
_NODE_PORTS = NODE_PORT_MAX - NODE_PORT_MIN + 1
# Random picks leave the low end of each range to users who choose a value themselves.
NODE_PORT_STATIC_BAND = min(max(16, _NODE_PORTS // 32), 128)
IP_STATIC_BAND = 16
KUBERNETES = "kubernetes"
SYSTEM_NAMESPACE = "kube-system"
DNS_SERVICE = "kube-dns"
DNS_HOST = 10  # kubeadm's cluster DNS address: the range's tenth
GATEWAY_HOST = 254  # the reserving Docker network's gateway: the host holds it


def kubernetes_ip(network: ipaddress.IPv4Network) -> str:
    return str(network.network_address + 1)


def dns_ip(network: ipaddress.IPv4Network) -> str:
    return str(network.network_address + DNS_HOST)


def kubernetes_service(network: ipaddress.IPv4Network) -> Obj:
    """`default/kubernetes`, as the API server keeps it (no selector: nothing selects it)."""
    ip = kubernetes_ip(network)
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": KUBERNETES, "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": ip, "clusterIPs": [ip], "type": "ClusterIP",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                            "targetPort": 6443}],
                 "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                 "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]},
        "status": {"loadBalancer": {}},
    }


def ensure_kubernetes_service(store: Store, reserve: Reserve) -> Obj:
    """The stored `kubernetes` Service, created (and the home's range reserved) if missing.
    Stored directly, as the API server's bootstrap controller does: a create through the
    registry would run this allocator, which needs this Service to know its range."""
    found = store.get("Service", "default", KUBERNETES)
    if found is not None:
        return found
    try:
        return store.create(kubernetes_service(reserve()))
    except AlreadyExists:
        return store.require("Service", "default", KUBERNETES)


def cluster_dns(store: Store) -> str | None:
    """The cluster DNS address pods get, once the home has one."""
    service = store.get("Service", SYSTEM_NAMESPACE, DNS_SERVICE)
    return str(service["spec"]["clusterIP"]) if service is not None else None


def service_network(store: Store, reserve: Reserve) -> ipaddress.IPv4Network:
    """The home's service range: the /24 its `kubernetes` Service's IP lies in."""
    ip = ensure_kubernetes_service(store, reserve)["spec"]["clusterIP"]
    return ipaddress.IPv4Network(f"{ip}/24", strict=False)


def host_port_free(port: int, protocol: str) -> bool:
    """Whether nothing on this host holds the port (another home's node port data plane,
    or any other listener)."""
    kind = socket.SOCK_DGRAM if protocol == "UDP" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


class ServiceIPAllocator(Plugin):
    """Completes a created Service with its cluster IP and node ports; on update keeps what
    the Service holds (the cluster IP may not change once set) and allocates what the new
    spec needs anew."""

    name = "ServiceIPAllocator"

    def __init__(self, network: Callable[[], ipaddress.IPv4Network],
                 port_free: PortFree = host_port_free, rng: random.Random | None = None
                 ) -> None:
        self.network = network
        self.port_free = port_free
        self.rng = rng

    @classmethod
    def for_store(cls, store: Store) -> ServiceIPAllocator:
        def reserve() -> ipaddress.IPv4Network:
            from podctl.home import home_id
            from podctl.runtime.servicenet import reserve_service_range

            return reserve_service_range(home_id(store.path.parent))

        return cls(lambda: service_network(store, reserve))

    def handles(self, attrs: Attributes) -> bool:
        return attrs.kind == "Service" and attrs.operation in (CREATE, UPDATE)

    def prepare(self, attrs: Attributes) -> None:
        attrs.prepared[self.name] = self.network()

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        service = attrs.obj
        assert service is not None
        held_ip: str | None = None
        held_ports: set[tuple[str, int]] = set()
        if attrs.operation == UPDATE:
            assert attrs.old is not None
            if service["spec"] == attrs.old["spec"]:
                return
            held_ip, held_ports = held_by(attrs.old)
        others = [s for s in view.list("Service")
                  if (meta.namespace_of(s), meta.name_of(s)) != (attrs.namespace, attrs.name)]
        allocate(service, others, attrs.prepared[self.name], self.port_free, self.rng,
                 held_ip=held_ip, held_ports=held_ports)


def held_by(service: Obj) -> tuple[str | None, set[tuple[str, int]]]:
    """The cluster IP and node ports a stored Service holds."""
    spec = service["spec"]
    ip = spec.get("clusterIP") if spec.get("type") != "ExternalName" else None
    return ip, {(p.get("protocol", "TCP"), p["nodePort"]) for p in spec.get("ports") or []
                if p.get("nodePort")}


def carry_over(existing: Obj, desired: Obj) -> None:
    """The desired Service's spec completed in place as the API server's Service registry
    updates one: the cluster IP is kept when the update leaves it out (and may not change
    once set), node ports are kept for the ports that stay."""
    spec = desired["spec"]
    old = existing["spec"]
    kept_ip = held_by(existing)[0]
    if spec.get("type") == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    elif kept_ip and not spec.get("clusterIP"):
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if key in old:
                spec[key] = copy.deepcopy(old[key])
    elif kept_ip and spec.get("clusterIP") != kept_ip:
        raise Invalid(f'The Service "{meta.name_of(existing)}" is invalid: '
                      f'spec.clusterIPs[0]: Invalid value: []string{{"{spec["clusterIP"]}"}}: '
                      "may not change once set")
    held: dict[tuple[str, int], int] = {(p.get("protocol", "TCP"), p["port"]): p["nodePort"]
                                        for p in old.get("ports") or [] if p.get("nodePort")}
    if _wants_node_ports(spec):
        for port in spec.get("ports") or []:
            stays = (port.get("protocol", "TCP"), port["port"])
            if not port.get("nodePort") and stays in held:
                port["nodePort"] = held[stays]
    else:
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)


def _wants_node_ports(spec: Obj) -> bool:
    service_type = spec.get("type", "ClusterIP")
    return service_type == "NodePort" or (
        service_type == "LoadBalancer" and bool(spec.get("allocateLoadBalancerNodePorts", True)))


def allocate(service: Obj, existing: Iterable[Obj], network: ipaddress.IPv4Network,
             port_free: PortFree, rng: random.Random | None = None,
             held_ip: str | None = None,
             held_ports: set[tuple[str, int]] | None = None) -> None:
    """Fill the Service's cluster IP and node ports in place; Invalid as the API server
    words it when a requested value is out of range or taken. What an update keeps
    (`held_ip`, `held_ports`) is the Service's own and is not checked again."""
    rng = rng or random.Random()
    spec = service["spec"]
    others = list(existing)
    errors: list[str] = []
    service_type = spec.get("type", "ClusterIP")
    kept = bool(held_ip) and spec.get("clusterIP") == held_ip
    if service_type != "ExternalName" and spec.get("clusterIP") != "None" and not kept:
        used = {ip for other in others for ip in other["spec"].get("clusterIPs") or []}
        ip = _allocate_ip(spec.get("clusterIP") or "", used, network, rng, errors)
        if ip:
            spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
    if _wants_node_ports(spec):
        used_ports = {(p.get("protocol", "TCP"), p["nodePort"]) for other in others
                      for p in other["spec"].get("ports") or [] if p.get("nodePort")}
        _allocate_node_ports(spec.get("ports") or [], used_ports, port_free, rng, errors,
                             held_ports or set())
    if errors:
        head = f'The Service "{meta.name_of(service)}" is invalid: '
        raise Invalid(head + errors[0] if len(errors) == 1
                      else head + "\n" + "\n".join(f"* {e}" for e in errors))
    service.setdefault("status", {"loadBalancer": {}})


def _allocate_ip(requested: str, used: set[str], network: ipaddress.IPv4Network,
                 rng: random.Random, errors: list[str]) -> str | None:
    gateway = str(network.network_address + GATEWAY_HOST)
    if requested:
        prefix = f'spec.clusterIPs: Invalid value: []string{{"{requested}"}}: ' \
                 f"failed to allocate IP {requested}: "
        address = ipaddress.ip_address(requested)
        if address not in network or address in (network.network_address,
                                                  network.broadcast_address):
            errors.append(prefix + f"the provided IP ({requested}) is not in the valid range. "
                          f"The range of valid IPs is {network}")
            return None
        if requested in used or requested == gateway:
            errors.append(prefix + "provided IP is already allocated")
            return None
        return requested
    hosts = [str(network.network_address + i) for i in range(IP_STATIC_BAND, GATEWAY_HOST)]
    free = [ip for ip in hosts if ip not in used]
    if not free:
        static = [str(network.network_address + i) for i in range(2, IP_STATIC_BAND)]
        free = [ip for ip in static if ip not in used]
    if not free:
        errors.append("Internal error occurred: failed to allocate a serviceIP: range is full")
        return None
    return rng.choice(free)


def _allocate_node_ports(ports: list[dict[str, Any]], used: set[tuple[str, int]],
                         port_free: PortFree, rng: random.Random, errors: list[str],
                         held: set[tuple[str, int]]) -> None:
    for i, port in enumerate(ports):
        protocol = port.get("protocol", "TCP")
        wanted = port.get("nodePort")
        if wanted and (protocol, wanted) in held:
            used.add((protocol, wanted))
            continue
        if wanted:
            detail = None
            if not NODE_PORT_MIN <= wanted <= NODE_PORT_MAX:
                detail = ("provided port is not in the valid range. The range of valid ports "
                          f"is {NODE_PORT_MIN}-{NODE_PORT_MAX}")
            elif (protocol, wanted) in used or not port_free(wanted, protocol):
                detail = "provided port is already allocated"
            if detail:
                errors.append(f"spec.ports[{i}].nodePort: Invalid value: {wanted}: {detail}")
            used.add((protocol, wanted))
            continue
        picked = _pick_node_port(protocol, used, port_free, rng)
        if picked is None:
            errors.append("Internal error occurred: failed to allocate a nodePort: "
                          "range is full")
            continue
        port["nodePort"] = picked
        used.add((protocol, picked))


def _pick_node_port(protocol: str, used: set[tuple[str, int]], port_free: PortFree,
                    rng: random.Random) -> int | None:
    upper = list(range(NODE_PORT_MIN + NODE_PORT_STATIC_BAND, NODE_PORT_MAX + 1))
    lower = list(range(NODE_PORT_MIN, NODE_PORT_MIN + NODE_PORT_STATIC_BAND))
    for band in (upper, lower):
        rng.shuffle(band)
        for candidate in band:
            if (protocol, candidate) not in used and port_free(candidate, protocol):
                return candidate
    return None
