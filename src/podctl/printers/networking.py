"""NetworkPolicies, Ingresses and IngressClasses: kubectl's table rows and describe
layouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api import meta
from podctl.api.labels import format_label_selector
from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import Lines, annotations_multiline, multiline_map
from podctl.printers.services import slice_endpoints, with_events

NETPOL_HEADERS = ["NAME", "POD-SELECTOR", "AGE"]
_INDENT = "    "  # kubectl's initialIndent of the rules


def netpol_row(policy: Obj, now: datetime, wide: bool) -> list[str]:
    spec = policy.get("spec") or {}
    return [policy["metadata"]["name"], format_label_selector(spec.get("podSelector") or {}),
            age(policy["metadata"].get("creationTimestamp"), now)]


def go_time(timestamp: str | None) -> str:
    """A metav1.Time as Go's %s prints it, in the local zone: `2026-01-02 15:04:05 +0000 UTC`."""
    if not timestamp:
        return "0001-01-01 00:00:00 +0000 UTC"
    return meta.parse_time(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %z %Z")


def describe_netpol(policy: Obj) -> str:
    md, spec = policy["metadata"], policy.get("spec") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    w.add(0, f"Created on:\t{go_time(md.get('creationTimestamp'))}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, "Spec:")
    selector = spec.get("podSelector") or {}
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        w.add(1, "PodSelector:     " + format_label_selector(selector))
    else:
        w.add(1, "PodSelector:     <none> (Allowing the specific traffic to all pods in this "
                 "namespace)")
    types = [str(t) for t in spec.get("policyTypes") or []]
    for kind, rules_field, peers_field in (("ingress", "ingress", "from"),
                                           ("egress", "egress", "to")):
        if kind.capitalize() in types:
            w.add(1, f"Allowing {kind} traffic:")
            _rules(w, kind, spec.get(rules_field) or [], peers_field)
        else:
            w.add(1, f"Not affecting {kind} traffic")
    w.add(1, "Policy Types: " + ", ".join(types))
    return w.text()


def _rules(w: Lines, kind: str, rules: list[Obj], peers_field: str) -> None:
    if not rules:
        w.add(0, f"{_INDENT}<none> (Selected pods are isolated for {kind} connectivity)")
        return
    title = "From" if peers_field == "from" else "To"
    for i, rule in enumerate(rules):
        ports = rule.get("ports") or []
        if not ports:
            w.add(0, f"{_INDENT}To Port: <any> (traffic allowed to all ports)")
        for port in ports:
            number, end = port.get("port"), port.get("endPort")
            proto = port.get("protocol") or "TCP"
            if end is not None:
                w.add(0, f"{_INDENT}To Port Range: {number}-{end}/{proto}")
            else:
                shown = "<nil>" if number is None else str(number)
                w.add(0, f"{_INDENT}To Port: {shown}/{proto}")
        peers = rule.get(peers_field) or []
        if not peers:
            unrestricted = "source" if peers_field == "from" else "destination"
            w.add(0, f"{_INDENT}{title}: <any> (traffic not restricted by {unrestricted})")
        for peer in peers:
            w.add(0, f"{_INDENT}{title}:")
            _peer(w, peer)
        if i != len(rules) - 1:
            w.add(0, f"{_INDENT}----------")


def _peer(w: Lines, peer: dict[str, Any]) -> None:
    pods, namespaces = peer.get("podSelector"), peer.get("namespaceSelector")
    if namespaces is not None:
        w.add(1, f"{_INDENT}NamespaceSelector: {format_label_selector(namespaces)}")
    if pods is not None:
        w.add(1, f"{_INDENT}PodSelector: {format_label_selector(pods)}")
    if pods is None and namespaces is None and peer.get("ipBlock") is not None:
        block = peer["ipBlock"]
        w.add(1, f"{_INDENT}IPBlock:")
        w.add(2, f"{_INDENT}CIDR: {block.get('cidr', '')}")
        w.add(2, f"{_INDENT}Except: {', '.join(block.get('except') or [])}")


# -- Ingress and IngressClass (kubectl printIngress, describeIngressV1) -----------------

INGRESS_HEADERS = ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
INGRESSCLASS_HEADERS = ["NAME", "CONTROLLER", "PARAMETERS", "AGE"]
_SHOWN_HOSTS = 3
_ADDRESS_WIDTH = 16  # kubectl's loadBalancerWidth, unless -o wide


def ingress_hosts(rules: list[Obj]) -> str:
    """The first three hosts, then ` + N more...` once a rule follows them (N counted over
    rules, as kubectl's formatHosts); `*` for none."""
    shown: list[str] = []
    more = False
    for rule in rules:
        more = more or len(shown) == _SHOWN_HOSTS
        if not more and rule.get("host"):
            shown.append(str(rule["host"]))
    if not shown:
        return "*"
    text = ",".join(shown)
    return f"{text} + {len(rules) - _SHOWN_HOSTS} more..." if more else text


def ingress_address(status: Obj, wide: bool) -> str:
    found = {str(i.get("ip") or i.get("hostname")) for i in
             (status.get("loadBalancer") or {}).get("ingress") or []
             if i.get("ip") or i.get("hostname")}
    text = ",".join(sorted(found))
    if not wide and len(text) > _ADDRESS_WIDTH:
        return text[:_ADDRESS_WIDTH - 3] + "..."
    return text


def ingress_row(ing: Obj, now: datetime, wide: bool) -> list[str]:
    spec = ing.get("spec") or {}
    return [ing["metadata"]["name"], spec.get("ingressClassName") or "<none>",
            ingress_hosts(spec.get("rules") or []),
            ingress_address(ing.get("status") or {}, wide),
            "80, 443" if spec.get("tls") else "80",
            age(ing["metadata"].get("creationTimestamp"), now)]


def ingressclass_row(klass: Obj, now: datetime, wide: bool) -> list[str]:
    params = (klass.get("spec") or {}).get("parameters")
    shown = "<none>"
    if params:
        shown = str(params.get("kind", ""))
        if params.get("apiGroup") is not None:
            shown += "." + str(params["apiGroup"])
        shown += "/" + str(params.get("name", ""))
    return [klass["metadata"]["name"], str((klass.get("spec") or {}).get("controller", "")),
            shown, age(klass["metadata"].get("creationTimestamp"), now)]


def _service_backend_text(service: Obj) -> str:
    port = service.get("port") or {}
    return f"{service.get('name', '')}:{port.get('number') or port.get('name') or ''}"


def backend_text(backend: Obj, services: dict[str, Obj], slices: dict[str, list[Obj]]) -> str:
    """describe's view of a backend: `svc:port (ready endpoints)`, or the error kubectl
    met reading the Service."""
    service = backend.get("service")
    if service:
        name, text = str(service.get("name", "")), _service_backend_text(service)
        svc = services.get(name)
        if svc is None:
            return f'{text} (<error: services "{name}" not found>)'
        port = service.get("port") or {}
        port_name = ""
        for sp in (svc.get("spec") or {}).get("ports") or []:
            if (port.get("number") and port["number"] == sp.get("port")) or \
                    (port.get("name") and port["name"] == sp.get("name")):
                port_name = sp.get("name", "")
        return f"{text} ({slice_endpoints(slices.get(name, []), port_name)})"
    resource = backend.get("resource")
    if resource:
        group = resource.get("apiGroup") if resource.get("apiGroup") is not None else "<none>"
        return (f"APIGroup: {group}, Kind: {resource.get('kind', '')}, "
                f"Name: {resource.get('name', '')}")
    return ""


def describe_ingress(ing: Obj, services: dict[str, Obj], slices: dict[str, list[Obj]],
                     events: list[dict[str, Any]], now: datetime) -> str:
    """`services` and `slices` are the Ingress's namespace's, by Service name."""
    md, spec = ing["metadata"], ing.get("spec") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    multiline_map(w, "Labels", md.get("labels"))
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    w.add(0, f"Address:\t{ingress_address(ing.get('status') or {}, True)}")
    w.add(0, f"Ingress Class:\t{spec.get('ingressClassName') or '<none>'}")
    default = "<default>"
    if spec.get("defaultBackend"):
        default = backend_text(spec["defaultBackend"], services, slices)
    w.add(0, f"Default backend:\t{default}")
    if spec.get("tls"):
        w.add(0, "TLS:")
        for tls in spec["tls"]:
            hosts = ",".join(tls.get("hosts") or [])
            w.add(1, f"{tls['secretName']} terminates {hosts}" if tls.get("secretName")
                  else f"SNI routes {hosts}")
    w.add(0, "Rules:")
    w.add(1, "Host\tPath\tBackends")
    w.add(1, "----\t----\t--------")
    count = 0
    for rule in spec.get("rules") or []:
        if rule.get("http") is None:
            continue
        count += 1
        w.add(1, f"{rule.get('host') or '*'}\t")
        for item in (rule["http"] or {}).get("paths") or []:
            w.add(2, f"\t{item.get('path', '')} \t"
                     f"{backend_text(item.get('backend') or {}, services, slices)}")
    if count == 0:
        w.add(1, f"*\t*\t{default}")
    annotations_multiline(w, md.get("annotations"))
    return with_events(w, events, now)


def describe_ingressclass(klass: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md, spec = klass["metadata"], klass.get("spec") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"Controller:\t{spec.get('controller', '')}")
    params = spec.get("parameters")
    if params:
        w.add(0, "Parameters:")
        if params.get("apiGroup") is not None:
            w.add(1, f"APIGroup:\t{params['apiGroup']}")
        w.add(1, f"Kind:\t{params.get('kind', '')}")
        w.add(1, f"Name:\t{params.get('name', '')}")
    return with_events(w, events, now)
