"""The API server's rules for networking.k8s.io/v1 NetworkPolicies (K pkg/apis/networking/
validation ValidateNetworkPolicy) and their defaults (K pkg/apis/networking/v1 defaults.go)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from podctl.manifest import names
from podctl.manifest.apps_rules import _d, validate_label_selector
from podctl.manifest.fielderr import forbidden, invalid, required, too_long, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import Errors, validate_metadata
from podctl.manifest.schema import FieldError

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


# -- Ingress and IngressClass (K pkg/apis/networking/validation ValidateIngressCreate,
# ValidateIngressClass; v1 defaults SetDefaults_IngressClass) ---------------------------

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
_BAD_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_BAD_SUFFIXES = ("/..", "/.")
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
_WILDCARD_RE = re.compile(r"^\*\." + names.DNS1123_SUBDOMAIN + "$")
_WILDCARD_MSG = ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
                 "subdomain, which must consist of lower case alphanumeric characters, '-' or "
                 "'.' and end with an alphanumeric character (e.g. '*.example.com', regex used "
                 "for validation is '\\*\\." + names.DNS1123_SUBDOMAIN + "')")
_HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+"
_HTTP_PATH_RE = re.compile(f"^{_HTTP_PATH_FMT}$")
_MAX_CONTROLLER = 250


def wildcard_subdomain(value: str) -> list[str]:
    errs = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not _WILDCARD_RE.match(value):
        errs.append(_WILDCARD_MSG)
    return errs


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def validate_ingress(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec, path = _d(obj.get("spec")), ("spec",)
    rules = spec.get("rules")
    if not rules and not isinstance(spec.get("defaultBackend"), dict):
        shown = "[]networking.IngressRule{}" if isinstance(rules, list) \
            else "[]networking.IngressRule(nil)"
        errs.append(FieldError(path, f"spec: Invalid value: {shown}: either `defaultBackend` "
                                     "or `rules` must be specified"))
    if isinstance(spec.get("defaultBackend"), dict):
        _backend(errs, spec["defaultBackend"], (*path, "defaultBackend"))
    for i, rule in enumerate(_list(rules)):
        _rule(errs, _d(rule), (*path, "rules", i))
    for i, tls in enumerate(_list(spec.get("tls"))):
        _tls(errs, _d(tls), (*path, "tls", i))
    klass = spec.get("ingressClassName")
    if isinstance(klass, str):
        errs.extend(invalid((*path, "ingressClassName"), klass, d)
                    for d in names.dns1123_subdomain(klass))
    annotated = _d(_d(obj.get("metadata")).get("annotations")).get(CLASS_ANNOTATION)
    if annotated is not None and isinstance(klass, str) and annotated != klass:
        errs.append(invalid(("annotations", CLASS_ANNOTATION), annotated,
                            "must match `ingressClassName` when both are specified"))
    return errs


def _rule(errs: Errors, rule: dict[str, Any], path: FieldPath) -> None:
    host = rule.get("host")
    if isinstance(host, str) and host:
        if _is_ip(host):
            errs.append(invalid((*path, "host"), host, "must be a DNS name, not an IP address"))
        check = wildcard_subdomain if "*" in host else names.dns1123_subdomain
        errs.extend(invalid((*path, "host"), host, d) for d in check(host))
    http = rule.get("http")
    if not isinstance(http, dict):
        return
    paths = _list(http.get("paths"))
    if not paths:
        errs.append(required((*path, "http", "paths")))
    for i, item in enumerate(paths):
        _http_path(errs, _d(item), (*path, "http", "paths", i))


def _http_path(errs: Errors, item: dict[str, Any], path: FieldPath) -> None:
    kind, value = item.get("pathType"), item.get("path") or ""
    if kind is None:
        return  # the schema's required field (upstream: "pathType must be specified")
    if kind in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.append(invalid((*path, "path"), value, "must be an absolute path"))
        errs.extend(invalid((*path, "path"), value, f"must not contain '{seq}'")
                    for seq in _BAD_SEQUENCES if value and seq in value)
        errs.extend(invalid((*path, "path"), value, f"cannot end with '{suffix}'")
                    for suffix in _BAD_SUFFIXES if value and value.endswith(suffix))
    elif kind == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errs.append(invalid((*path, "path"), value, "must be an absolute path"))
    else:
        errs.append(unsupported((*path, "pathType"), kind, PATH_TYPES))
    _backend(errs, _d(item.get("backend")), (*path, "backend"))


def _backend(errs: Errors, backend: dict[str, Any], path: FieldPath) -> None:
    service, resource = backend.get("service"), backend.get("resource")
    if isinstance(service, dict) and isinstance(resource, dict):
        errs.append(invalid(path, "", "cannot set both resource and service backends"))
    elif isinstance(resource, dict):
        _typed_reference(errs, resource, (*path, "resource"))
    elif isinstance(service, dict):
        _service_backend(errs, service, path)
    else:
        errs.append(invalid(path, "", "resource or service backend is required"))


def _service_backend(errs: Errors, service: dict[str, Any], path: FieldPath) -> None:
    name = service.get("name")
    if not name:
        errs.append(required((*path, "service", "name")))
    else:
        errs.extend(invalid((*path, "service", "name"), name, d)
                    for d in names.dns1035_label(str(name)))
    port = _d(service.get("port"))
    port_name, number = port.get("name") or "", port.get("number") or 0
    if port_name and number:
        errs.append(invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        errs.extend(invalid((*path, "service", "port", "name"), port_name, d)
                    for d in names.port_name(str(port_name)))
    elif number:
        if isinstance(number, int) and not 1 <= number <= 65535:
            errs.append(invalid((*path, "service", "port", "number"), number, _PORT_RANGE))
    else:
        errs.append(required(path, "port name or number is required"))


def _segment(errs: Errors, value: Any, path: FieldPath) -> None:
    """content.IsPathSegmentName: a name usable as one segment of a URL path."""
    if not value:
        errs.append(required(path))
    elif value in (".", ".."):
        errs.append(invalid(path, value, f"may not be '{value}'"))
    else:
        errs.extend(invalid(path, value, f"may not contain '{c}'") for c in "/%"
                    if c in str(value))


def _typed_reference(errs: Errors, ref: dict[str, Any], path: FieldPath) -> None:
    group = ref.get("apiGroup")
    if isinstance(group, str):
        errs.extend(invalid((*path, "apiGroup"), group, d)
                    for d in names.dns1123_subdomain(group))
    _segment(errs, ref.get("kind"), (*path, "kind"))
    _segment(errs, ref.get("name"), (*path, "name"))


def _tls(errs: Errors, tls: dict[str, Any], path: FieldPath) -> None:
    for i, host in enumerate(_list(tls.get("hosts"))):
        host = str(host)
        check = wildcard_subdomain if "*" in host else names.dns1123_subdomain
        errs.extend(invalid((*path, "hosts", i), host, d) for d in check(host))
    secret = tls.get("secretName")
    if isinstance(secret, str) and secret:
        errs.extend(invalid((*path, "secretName"), secret, d)
                    for d in names.dns1123_subdomain(secret))


def validate_ingress_class(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), False, names.dns1123_subdomain)
    spec, path = _d(obj.get("spec")), ("spec",)
    controller = spec.get("controller")
    if not controller:
        errs.append(required((*path, "controller")))
    else:
        controller = str(controller)
        if len(controller) > _MAX_CONTROLLER:
            errs.append(too_long((*path, "controller"), _MAX_CONTROLLER))
        _domain_prefixed_path(errs, controller, (*path, "controller"))
    params = spec.get("parameters")
    if isinstance(params, dict):
        _class_parameters(errs, params, (*path, "parameters"))
    return errs


def _domain_prefixed_path(errs: Errors, value: str, path: FieldPath) -> None:
    host, _, rest = value.partition("/")
    if not host or not rest:
        errs.append(invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")'))
        return
    errs.extend(invalid(path, host, d) for d in names.dns1123_subdomain(host))
    if not _HTTP_PATH_RE.match(rest):
        errs.append(invalid(path, rest, "Invalid path (regex used for validation is "
                                        f"'{_HTTP_PATH_FMT}')"))


def _class_parameters(errs: Errors, params: dict[str, Any], path: FieldPath) -> None:
    _typed_reference(errs, params, path)
    # Validated as defaulted (default_ingress_class): no scope is a Cluster one.
    scope, namespace = params.get("scope") or "Cluster", params.get("namespace")
    if scope not in ("Cluster", "Namespace"):
        errs.append(unsupported((*path, "scope"), scope, ("Cluster", "Namespace")))
    elif scope == "Namespace" and namespace is None:
        errs.append(required((*path, "namespace"), "`parameters.scope` is set to 'Namespace'"))
    elif scope == "Namespace":
        errs.extend(invalid((*path, "namespace"), namespace, d)
                    for d in names.dns1123_label(str(namespace)))
    elif namespace is not None:
        errs.append(forbidden((*path, "namespace"), "`parameters.scope` is set to 'Cluster'"))


def default_ingress_class(spec: dict[str, Any]) -> None:
    """A class's parameters are cluster-scoped unless told."""
    params = spec.get("parameters")
    if isinstance(params, dict):
        params.setdefault("scope", "Cluster")
