"""Semantic rules the API server enforces for Services and Endpoints (ValidateService,
validateServicePort, ValidateEndpoints); range and allocation checks happen at create."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from podctl.manifest import names
from podctl.manifest.fielderr import duplicate, forbidden, invalid, required, unsupported
from podctl.manifest.problems import FieldPath, format_path
from podctl.manifest.rules import (
    PROTOCOLS,
    Errors,
    _d,
    _int,
    _l,
    _port_number,
    validate_labels,
    validate_metadata,
)
from podctl.manifest.schema import FieldError

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
IP_FAMILIES = ("IPv4", "IPv6")
MAX_AFFINITY_TIMEOUT = 86400
EXTERNAL_TYPES = ("NodePort", "LoadBalancer")
INVALID_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
LINK_LOCAL_MULTICAST = ipaddress.ip_network("224.0.0.0/24")


def go_service_port(protocol: str, port: int = 0, node_port: int = 0) -> str:
    """A core.ServicePort key as Go's %#v prints it in a Duplicate error."""
    return (f'core.ServicePort{{Name:"", Protocol:"{protocol}", AppProtocol:(*string)(nil), '
            f"Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, "
            f"NodePort:{node_port}}}")


def _go_duplicate(path: FieldPath, rendered: str) -> FieldError:
    return FieldError(path, f"{format_path(path)}: Duplicate value: {rendered}")


def is_headless(spec: dict[str, Any]) -> bool:
    return spec.get("clusterIP") == "None" or _l(spec.get("clusterIPs"))[:1] == ["None"]


def _target_port(errs: Errors, value: Any, path: FieldPath) -> None:
    """0 and "" mean unset (defaulted to the port); otherwise a port number or IANA name."""
    if isinstance(value, str) and value:
        errs.extend(invalid(path, value, d) for d in names.port_name(value))
        return
    number = _int(value)
    if number and not 1 <= number <= 65535:
        errs.append(invalid(path, number, "must be between 1 and 65535, inclusive"))


def _service_port(errs: Errors, port: dict[str, Any], path: FieldPath, require_name: bool,
                  seen_names: set[str]) -> None:
    """validateServicePort."""
    name = port.get("name")
    if require_name and not name:
        errs.append(required((*path, "name")))
    elif isinstance(name, str) and name:
        errs.extend(invalid((*path, "name"), name, d) for d in names.dns1123_label(name))
        if name in seen_names:
            errs.append(duplicate((*path, "name"), name))
        seen_names.add(name)
    number = _int(port.get("port"))
    if number is None or number == 0:
        errs.append(required((*path, "port")))
    else:
        _port_number(errs, number, (*path, "port"))
    protocol = port.get("protocol")
    if isinstance(protocol, str) and protocol and protocol not in PROTOCOLS:
        errs.append(unsupported((*path, "protocol"), protocol, PROTOCOLS))
    _target_port(errs, port.get("targetPort"), (*path, "targetPort"))


def _ports(errs: Errors, spec: dict[str, Any], service_type: str) -> None:
    ports = [p for p in _l(spec.get("ports")) if isinstance(p, dict)]
    path: FieldPath = ("spec", "ports")
    seen_names: set[str] = set()
    for i, port in enumerate(ports):
        _service_port(errs, port, (*path, i), len(ports) > 1, seen_names)
    if service_type == "ClusterIP":
        for i, port in enumerate(ports):
            if _int(port.get("nodePort")):
                errs.append(forbidden((*path, i, "nodePort"),
                                      "may not be used when `type` is 'ClusterIP'"))
    seen_ports: set[tuple[str, int]] = set()
    seen_node_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        protocol = port.get("protocol") or "TCP"
        number, node_port = _int(port.get("port")) or 0, _int(port.get("nodePort")) or 0
        if (protocol, number) in seen_ports:
            errs.append(_go_duplicate((*path, i), go_service_port(protocol, port=number)))
        seen_ports.add((protocol, number))
        if node_port:
            if (protocol, node_port) in seen_node_ports:
                errs.append(_go_duplicate((*path, i),
                                          go_service_port(protocol, node_port=node_port)))
            seen_node_ports.add((protocol, node_port))


def _cluster_ips(errs: Errors, spec: dict[str, Any], service_type: str) -> None:
    cluster_ip = spec.get("clusterIP")
    ips = [ip for ip in _l(spec.get("clusterIPs")) if isinstance(ip, str)]
    if service_type == "ExternalName":
        if cluster_ip or ips:
            errs.append(forbidden(("spec", "clusterIPs"),
                                  "may not be set for ExternalName services"))
        return
    if isinstance(cluster_ip, str) and cluster_ip and ips and ips[0] != cluster_ip:
        errs.append(invalid(("spec", "clusterIPs"), ips,
                            "element [0] must match clusterIP"))
    for i, ip in enumerate(ips or ([cluster_ip] if isinstance(cluster_ip, str) else [])):
        path: FieldPath = ("spec", "clusterIPs", i)
        if ip == "None":
            if service_type in EXTERNAL_TYPES:
                errs.append(invalid(path, ip,
                                    f"may not be set to 'None' for {service_type} services"))
            continue
        if not ip:
            continue
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            errs.append(invalid(path, ip, INVALID_IP))


def _affinity(errs: Errors, spec: dict[str, Any]) -> None:
    affinity = spec.get("sessionAffinity")
    config = spec.get("sessionAffinityConfig")
    if isinstance(affinity, str) and affinity and affinity not in AFFINITIES:
        errs.append(unsupported(("spec", "sessionAffinity"), affinity, AFFINITIES))
    if affinity == "ClientIP":
        timeout = _int(_d(_d(config).get("clientIP")).get("timeoutSeconds"))
        if timeout is not None and not 0 < timeout <= MAX_AFFINITY_TIMEOUT:
            errs.append(invalid(
                ("spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds"), timeout,
                f"must be greater than 0 and less than {MAX_AFFINITY_TIMEOUT}"))
    elif config:
        errs.append(invalid(("spec", "sessionAffinityConfig"), config,
                            "must not be set when session affinity is None"))


def _traffic_policies(errs: Errors, spec: dict[str, Any], service_type: str) -> None:
    external = spec.get("externalTrafficPolicy")
    if isinstance(external, str) and external:
        reachable = service_type in EXTERNAL_TYPES or (
            service_type == "ClusterIP" and _l(spec.get("externalIPs")))
        if not reachable:
            errs.append(invalid(("spec", "externalTrafficPolicy"), external,
                                "may only be set for externally-accessible services"))
        elif external not in TRAFFIC_POLICIES:
            errs.append(unsupported(("spec", "externalTrafficPolicy"), external,
                                    TRAFFIC_POLICIES))
    internal = spec.get("internalTrafficPolicy")
    if isinstance(internal, str) and internal and internal not in TRAFFIC_POLICIES:
        errs.append(unsupported(("spec", "internalTrafficPolicy"), internal, TRAFFIC_POLICIES))


def _ip_families(errs: Errors, spec: dict[str, Any]) -> None:
    policy = spec.get("ipFamilyPolicy")
    if isinstance(policy, str) and policy and policy not in IP_FAMILY_POLICIES:
        errs.append(unsupported(("spec", "ipFamilyPolicy"), policy, IP_FAMILY_POLICIES))
    elif policy == "RequireDualStack" and not (is_headless(spec) and not spec.get("selector")):
        errs.append(invalid(("spec", "ipFamilyPolicy"), policy,
                            "this cluster is not configured for dual-stack services"))
    for i, family in enumerate(_l(spec.get("ipFamilies"))):
        if isinstance(family, str) and family not in IP_FAMILIES:
            errs.append(unsupported(("spec", "ipFamilies", i), family, IP_FAMILIES))
        elif family == "IPv6":
            errs.append(invalid(("spec", "ipFamilies", i), family,
                                "not configured on this cluster"))


def validate_service(obj: dict[str, Any]) -> Errors:
    """ValidateService (create)."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1035_label)
    spec = _d(obj.get("spec"))
    raw_type = spec.get("type")
    service_type = raw_type if isinstance(raw_type, str) and raw_type else "ClusterIP"
    if not _l(spec.get("ports")) and not is_headless(spec) and service_type != "ExternalName":
        errs.append(required(("spec", "ports")))
    if service_type == "ExternalName":
        external_name = spec.get("externalName")
        if not external_name:
            errs.append(required(("spec", "externalName")))
        elif isinstance(external_name, str):
            errs.extend(invalid(("spec", "externalName"), external_name, d)
                        for d in names.dns1123_subdomain(external_name.removesuffix(".")))
    _ports(errs, spec, service_type)
    validate_labels(errs, spec.get("selector"), ("spec", "selector"))
    _affinity(errs, spec)
    _cluster_ips(errs, spec, service_type)
    for i, ip in enumerate(_l(spec.get("externalIPs"))):
        if isinstance(ip, str):
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                errs.append(invalid(("spec", "externalIPs", i), ip, INVALID_IP))
    if service_type not in SERVICE_TYPES:
        errs.append(unsupported(("spec", "type"), service_type, SERVICE_TYPES))
    _traffic_policies(errs, spec, service_type)
    _ip_families(errs, spec)
    return errs


def non_special_ip(ip: str) -> list[str]:
    """ValidateNonSpecialIP: an endpoint address must be a routable unicast address."""
    return list(_ip_problems(ip))


# Every Endpoints write is validated, and the endpoint controllers write the same pods'
# addresses again and again: parsing each was most of that validation.
@functools.lru_cache(maxsize=4096)
def _ip_problems(ip: str) -> tuple[str, ...]:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return (INVALID_IP,)
    if address.is_unspecified:
        return ("may not be unspecified (0.0.0.0)",)
    if address.is_loopback:
        return ("may not be in the loopback range (127.0.0.0/8, ::1/128)",)
    if address in LINK_LOCAL_MULTICAST:
        return ("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",)
    if address.is_link_local:
        return ("may not be in the link-local range (169.254.0.0/16, fe80::/10)",)
    return ()


def validate_endpoints(obj: dict[str, Any]) -> Errors:
    """ValidateEndpoints (create)."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    for i, subset in enumerate(_l(obj.get("subsets"))):
        path: FieldPath = ("subsets", i)
        subset = _d(subset)
        for field in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(_l(subset.get(field))):
                ip = _d(address).get("ip")
                if not ip:
                    errs.append(required((*path, field, j, "ip")))
                elif isinstance(ip, str):
                    errs.extend(invalid((*path, field, j, "ip"), ip, d)
                                for d in non_special_ip(ip))
        ports = [_d(p) for p in _l(subset.get("ports"))]
        for j, port in enumerate(ports):
            name = port.get("name")
            if len(ports) > 1 and not name:
                errs.append(required((*path, "ports", j, "name")))
            elif isinstance(name, str) and name:
                errs.extend(invalid((*path, "ports", j, "name"), name, d)
                            for d in names.dns1123_label(name))
            _port_number(errs, port.get("port"), (*path, "ports", j, "port"))
            protocol = port.get("protocol")
            if isinstance(protocol, str) and protocol and protocol not in PROTOCOLS:
                errs.append(unsupported((*path, "ports", j, "protocol"), protocol, PROTOCOLS))
    return errs
