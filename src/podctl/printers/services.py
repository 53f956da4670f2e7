"""kubectl's columns and describe layouts for Services and Endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api.labels import format_selector_map
from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import Lines, describe_events, multiline_map

SERVICE_HEADERS = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
SERVICE_WIDE_HEADERS = ["SELECTOR"]
ENDPOINTS_HEADERS = ["NAME", "ENDPOINTS", "AGE"]
SHOWN_ENDPOINTS = 3
LB_INGRESS_WIDTH = 16


def _external_ip(spec: Obj, status: Obj, wide: bool) -> str:
    service_type = spec.get("type", "ClusterIP")
    external = list(spec.get("externalIPs") or [])
    if service_type == "ExternalName":
        return str(spec.get("externalName", ""))
    if service_type == "LoadBalancer":
        ingress = sorted(i.get("ip") or i.get("hostname") or ""
                         for i in (status.get("loadBalancer") or {}).get("ingress") or [])
        shown = ",".join([*ingress, *external])
        if not shown:
            return "<pending>"
        if not wide and len(shown) > LB_INGRESS_WIDTH:
            return shown[:LB_INGRESS_WIDTH - 3] + "..."
        return shown
    return ",".join(external) or "<none>"


def service_ports(spec: Obj) -> str:
    """PORT(S): `80/TCP`, `80:30123/TCP`, joined by commas; `<none>` without ports."""
    parts = []
    for port in spec.get("ports") or []:
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        parts.append(f"{port['port']}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def service_row(svc: Obj, now: datetime, wide: bool) -> list[str]:
    spec, status = svc.get("spec") or {}, svc.get("status") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP")
                                             else [])
    row = [svc["metadata"]["name"], spec.get("type", "ClusterIP"),
           cluster_ips[0] if cluster_ips else "<none>", _external_ip(spec, status, wide),
           service_ports(spec), age(svc["metadata"].get("creationTimestamp"), now)]
    if wide:
        row.append(format_selector_map(spec.get("selector") or {}))
    return row


def endpoint_list(subsets: list[Obj], port_name: str | None = None) -> tuple[str, int]:
    """Ready `ip:port` entries, subset by subset, port by port: the first three, then
    ` + N more...`; with `port_name`, only that port's. The text and how many there are."""
    entries: list[str] = []
    for subset in subsets:
        ports = [p for p in subset.get("ports") or []
                 if port_name is None or p.get("name", "") == port_name]
        addresses = subset.get("addresses") or []
        if not subset.get("ports") and port_name is None:
            entries.extend(a["ip"] for a in addresses)
            continue
        for port in ports:
            entries.extend(f"{a['ip']}:{port['port']}" for a in addresses)
    text = ",".join(entries[:SHOWN_ENDPOINTS])
    if len(entries) > SHOWN_ENDPOINTS:
        text += f" + {len(entries) - SHOWN_ENDPOINTS} more..."
    return text, len(entries)


def endpoints_row(ep: Obj, now: datetime, wide: bool) -> list[str]:
    text, _ = endpoint_list(ep.get("subsets") or [])
    return [ep["metadata"]["name"], text or "<none>",
            age(ep["metadata"].get("creationTimestamp"), now)]


def describe_service(svc: Obj, endpoints: Obj | None, events: list[dict[str, Any]],
                     now: datetime) -> str:
    """kubectl describe svc (endpoints per port come from the Service's Endpoints)."""
    md, spec = svc["metadata"], svc.get("spec") or {}
    status = svc.get("status") or {}
    service_type = spec.get("type", "ClusterIP")
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    multiline_map(w, "Labels", md.get("labels"))
    multiline_map(w, "Annotations", md.get("annotations"), ": ")
    w.add(0, f"Selector:\t{format_selector_map(spec.get('selector') or {})}")
    w.add(0, f"Type:\t{service_type}")
    if spec.get("ipFamilyPolicy"):
        w.add(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}")
    w.add(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or '<none>'}")
    if spec.get("clusterIP"):
        w.add(0, f"IP:\t{spec['clusterIP']}")
        w.add(0, f"IPs:\t{','.join(spec.get('clusterIPs') or [spec['clusterIP']])}")
    if spec.get("externalIPs"):
        w.add(0, f"External IPs:\t{','.join(spec['externalIPs'])}")
    if spec.get("loadBalancerIP"):
        w.add(0, f"Desired LoadBalancer IP:\t{spec['loadBalancerIP']}")
    if spec.get("externalName"):
        w.add(0, f"External Name:\t{spec['externalName']}")
    ingress = [i.get("ip") or i.get("hostname") or ""
               for i in (status.get("loadBalancer") or {}).get("ingress") or []]
    if ingress:
        w.add(0, f"LoadBalancer Ingress:\t{', '.join(ingress)}")
    subsets = (endpoints or {}).get("subsets") or []
    for port in spec.get("ports") or []:
        name = port.get("name") or "<unset>"
        protocol = port.get("protocol", "TCP")
        w.add(0, f"Port:\t{name}  {port['port']}/{protocol}")
        w.add(0, f"TargetPort:\t{port.get('targetPort', port['port'])}/{protocol}")
        if port.get("appProtocol"):
            w.add(0, f"AppProtocol:\t{port['appProtocol']}")
        if port.get("nodePort"):
            w.add(0, f"NodePort:\t{name}  {port['nodePort']}/{protocol}")
        text, _ = endpoint_list(subsets, port.get("name", ""))
        w.add(0, f"Endpoints:\t{text if endpoints is not None else '<none>'}")
    w.add(0, f"Session Affinity:\t{spec.get('sessionAffinity', 'None')}")
    if spec.get("externalTrafficPolicy"):
        w.add(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}")
    if spec.get("internalTrafficPolicy"):
        w.add(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}")
    return _with_events(w, events, now)


def describe_endpoints(ep: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md = ep["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    multiline_map(w, "Labels", md.get("labels"))
    multiline_map(w, "Annotations", md.get("annotations"), ": ")
    w.add(0, "Subsets:")
    for subset in ep.get("subsets") or []:
        ready = ",".join(a["ip"] for a in subset.get("addresses") or [])
        unready = ",".join(a["ip"] for a in subset.get("notReadyAddresses") or [])
        w.add(1, f"Addresses:\t{ready or '<none>'}")
        w.add(1, f"NotReadyAddresses:\t{unready or '<none>'}")
        ports = subset.get("ports") or []
        if ports:
            w.add(1, "Ports:")
            w.add(2, "Name\tPort\tProtocol")
            w.add(2, "----\t----\t--------")
            for port in ports:
                w.add(2, f"{port.get('name') or '<unset>'}\t{port['port']}\t"
                         f"{port.get('protocol', 'TCP')}")
        w.add(0, "")
    return _with_events(w, events, now)


def _with_events(w: Lines, events: list[dict[str, Any]], now: datetime) -> str:
    """kubectl flushes before Events; its `<none>` form stays in the block's columns."""
    if events:
        return w.text() + describe_events(events, now)
    w.add(0, "Events:\t<none>")
    return w.text()
