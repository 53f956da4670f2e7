"""The API server's rules for networking.k8s.io/v1 NetworkPolicies (K pkg/apis/networking/
validation ValidateNetworkPolicy) and their defaults (K pkg/apis/networking/v1 defaults.go)."""

from __future__ import annotations

import ipaddress
from typing import Any

from podctl.manifest import names
from podctl.manifest.apps_rules import _d, validate_label_selector
from podctl.manifest.fielderr import forbidden, invalid, required, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import Errors, validate_metadata

PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")
_PORT_RANGE = "must be between 1 and 65535, inclusive"
_BAD_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def validate_network_policy(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    validate_label_selector(errs, _d(spec.get("podSelector")), (*path, "podSelector"))
    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(_list(spec.get(direction))):
            rule_path: FieldPath = (*path, direction, i)
            for j, port in enumerate(_list(_d(rule).get("ports"))):
                _port(errs, _d(port), (*rule_path, "ports", j))
            for j, peer in enumerate(_list(_d(rule).get(peers_field))):
                _peer(errs, _d(peer), (*rule_path, peers_field, j))
    types = _list(spec.get("policyTypes"))
    if len(types) > len(POLICY_TYPES):
        errs.append(invalid((*path, "policyTypes"), types,
                            "may not specify more than two policyTypes"))
        return errs
    for i, kind in enumerate(types):
        if kind not in POLICY_TYPES:
            errs.append(unsupported((*path, "policyTypes", i), kind, POLICY_TYPES))
    return errs


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _port(errs: Errors, port: dict[str, Any], path: FieldPath) -> None:
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        errs.append(unsupported((*path, "protocol"), protocol, PROTOCOLS))
    number, end = port.get("port"), port.get("endPort")
    if number is None:
        if end is not None:
            errs.append(invalid((*path, "endPort"), end,
                                "may not be specified when `port` is not specified"))
    elif isinstance(number, str):
        if end is not None:
            errs.append(invalid((*path, "endPort"), end,
                                "may not be specified when `port` is non-numeric"))
        errs.extend(invalid((*path, "port"), number, d) for d in names.port_name(number))
    elif isinstance(number, int):
        if not 1 <= number <= 65535:
            errs.append(invalid((*path, "port"), number, _PORT_RANGE))
        if isinstance(end, int):
            if end < number:  # upstream reports the port's value here
                errs.append(invalid((*path, "endPort"), number,
                                    "must be greater than or equal to `port`"))
            if not 1 <= end <= 65535:
                errs.append(invalid((*path, "endPort"), end, _PORT_RANGE))


def _peer(errs: Errors, peer: dict[str, Any], path: FieldPath) -> None:
    count = 0
    for field in ("podSelector", "namespaceSelector"):
        if isinstance(peer.get(field), dict):
            count += 1
            validate_label_selector(errs, peer[field], (*path, field))
    block = peer.get("ipBlock")
    if isinstance(block, dict):
        count += 1
        _ip_block(errs, block, (*path, "ipBlock"))
    if count == 0:
        errs.append(required(path, "must specify a peer"))
    elif count > 1 and isinstance(block, dict):
        errs.append(forbidden(path, "may not specify both ipBlock and another peer"))


def parse_cidr(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Go's ParseCIDRSloppy: an address with a prefix length; bits beyond it are masked."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _ip_block(errs: Errors, block: dict[str, Any], path: FieldPath) -> None:
    cidr = block.get("cidr")
    if not cidr:
        errs.append(required((*path, "cidr")))
        return
    network = parse_cidr(cidr)
    if network is None:
        errs.append(invalid((*path, "cidr"), cidr, _BAD_CIDR))
        return
    for i, text in enumerate(_list(block.get("except"))):
        sub = parse_cidr(text)
        if sub is None:
            errs.append(invalid((*path, "except", i), text, _BAD_CIDR))
        elif (sub.version != network.version or sub.network_address not in network
              or network.prefixlen >= sub.prefixlen):
            errs.append(invalid((*path, "except", i), text, "must be a strict subset of `cidr`"))


def default_network_policy(spec: dict[str, Any]) -> None:
    """Ports are TCP unless told; a policy without policyTypes is for Ingress, and for
    Egress too when it has egress rules."""
    for direction in ("ingress", "egress"):
        for rule in _list(spec.get(direction)):
            for port in _list(_d(rule).get("ports")):
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", *(["Egress"] if spec.get("egress") else [])]
