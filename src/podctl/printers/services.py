"""kubectl's columns and describe layouts for Services, Endpoints and EndpointSlices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api.labels import format_selector_map
from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import Lines, annotations_multiline, describe_events, multiline_map

SERVICE_HEADERS = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
SERVICE_WIDE_HEADERS = ["SELECTOR"]
ENDPOINTS_HEADERS = ["NAME", "ENDPOINTS", "AGE"]
ENDPOINTSLICE_HEADERS = ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
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


def endpoints_text(subsets: list[Obj]) -> str:
    """Ready `ip:port` entries (bare IPs from a subset without ports), subset by subset,
    port by port: the first three, then ` + N more...`."""
    entries: list[str] = []
    for subset in subsets:
        addresses = subset.get("addresses") or []
        if not subset.get("ports"):
            entries.extend(a["ip"] for a in addresses)
            continue
        for port in subset["ports"]:
            entries.extend(f"{a['ip']}:{port['port']}" for a in addresses)
    return _more(entries, "<none>")


def endpoints_row(ep: Obj, now: datetime, wide: bool) -> list[str]:
    return [ep["metadata"]["name"], endpoints_text(ep.get("subsets") or []),
            age(ep["metadata"].get("creationTimestamp"), now)]


def describe_service(svc: Obj, slices: list[Obj], events: list[dict[str, Any]],
                     now: datetime) -> str:
    """kubectl describe svc: endpoints per port come from the EndpointSlices labelled with
    the Service's name."""
    md, spec = svc["metadata"], svc.get("spec") or {}
    status = svc.get("status") or {}
    service_type = spec.get("type", "ClusterIP")
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
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
    for port in spec.get("ports") or []:
        name = port.get("name") or "<unset>"
        protocol = port.get("protocol", "TCP")
        w.add(0, f"Port:\t{name}  {port['port']}/{protocol}")
        w.add(0, f"TargetPort:\t{port.get('targetPort', port['port'])}/{protocol}")
        if port.get("appProtocol"):
            w.add(0, f"AppProtocol:\t{port['appProtocol']}")
        if port.get("nodePort"):
            w.add(0, f"NodePort:\t{name}  {port['nodePort']}/{protocol}")
        w.add(0, f"Endpoints:\t{slice_endpoints(slices, port.get('name', ''))}")
    w.add(0, f"Session Affinity:\t{spec.get('sessionAffinity', 'None')}")
    if spec.get("externalTrafficPolicy"):
        w.add(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}")
    if spec.get("internalTrafficPolicy"):
        w.add(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}")
    return with_events(w, events, now)


def _more(entries: list[str], empty: str) -> str:
    """The first three entries, then ` + N more...`; `empty` when there is none."""
    text = ",".join(entries[:SHOWN_ENDPOINTS])
    if len(entries) > SHOWN_ENDPOINTS:
        return f"{text} + {len(entries) - SHOWN_ENDPOINTS} more..."
    return text or empty


def slice_ports_text(ports: list[Obj] | None) -> str:
    """PORTS: each port's number (its name when it has none, `*` without either)."""
    shown = [str(p["port"]) if p.get("port") is not None else p.get("name") or "*"
             for p in ports or []]
    return _more(shown, "<unset>")


def slice_addresses_text(endpoints: list[Obj] | None) -> str:
    """ENDPOINTS: every address of every endpoint, ready or not."""
    shown = [a for e in endpoints or [] for a in e.get("addresses") or []]
    return _more(shown, "<unset>")


def endpoint_slice_row(eps: Obj, now: datetime, wide: bool) -> list[str]:
    return [eps["metadata"]["name"], str(eps.get("addressType", "")),
            slice_ports_text(eps.get("ports")), slice_addresses_text(eps.get("endpoints")),
            age(eps["metadata"].get("creationTimestamp"), now)]


def _is_ready(endpoint: Obj) -> bool:
    """An endpoint whose readiness is unset counts as ready."""
    return (endpoint.get("conditions") or {}).get("ready") is not False


def slice_endpoints(slices: list[Obj], port_name: str) -> str:
    """describe svc's Endpoints line for one Service port: ready `ip:port` of the slices'
    ports of that name (bare addresses from a slice without ports), the first three then
    ` + N more...`; `<none>` without any slice. As kubectl counts: once three are shown,
    any further endpoint, even a not-ready one, makes the ` + N more...` suffix."""
    if not slices:
        return "<none>"
    shown: list[str] = []
    more, count = False, 0
    for eps in slices:
        ports = eps.get("ports") or []
        targets: list[int | None] = [None] if not ports else \
            [p.get("port") for p in ports if p.get("name") == port_name]
        for target in targets:
            for endpoint in eps.get("endpoints") or []:
                if len(shown) == SHOWN_ENDPOINTS:
                    more = True
                if not _is_ready(endpoint):
                    continue
                if not more:
                    address = endpoint["addresses"][0]
                    shown.append(address if target is None else f"{address}:{target}")
                count += 1
    text = ",".join(shown)
    return f"{text} + {count - SHOWN_ENDPOINTS} more..." if more else text


def describe_endpoint_slice(eps: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md = eps["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"AddressType:\t{eps.get('addressType', '')}")
    ports = eps.get("ports") or []
    if not ports:
        w.add(0, "Ports: <unset>")
    else:
        w.add(0, "Ports:")
        w.add(1, "Name\tPort\tProtocol")
        w.add(1, "----\t----\t--------")
        for port in ports:
            number = port.get("port")
            w.add(1, f"{port.get('name') or '<unset>'}\t"
                     f"{'<unset>' if number is None else number}\t{port.get('protocol', '')}")
    endpoints = eps.get("endpoints") or []
    if not endpoints:
        w.add(0, "Endpoints: <none>")
    else:
        w.add(0, "Endpoints:")
        for endpoint in endpoints:
            w.add(1, f"- Addresses:\t{', '.join(endpoint.get('addresses') or []) or '<none>'}")
            w.add(2, "Conditions:")
            ready = (endpoint.get("conditions") or {}).get("ready")
            w.add(3, f"Ready:\t{'<unset>' if ready is None else str(ready).lower()}")
            w.add(2, f"Hostname:\t{endpoint.get('hostname', '<unset>')}")
            ref = endpoint.get("targetRef")
            if ref:
                w.add(2, f"TargetRef:\t{ref.get('kind', '')}/{ref.get('name', '')}")
            w.add(2, f"NodeName:\t{endpoint.get('nodeName', '<unset>')}")
            w.add(2, f"Zone:\t{endpoint.get('zone', '<unset>')}")
    return with_events(w, events, now)


def describe_endpoints(ep: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md = ep["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
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
    return with_events(w, events, now)


def with_events(w: Lines, events: list[dict[str, Any]], now: datetime) -> str:
    """kubectl flushes before Events; its `<none>` form stays in the block's columns."""
    if events:
        return w.text() + describe_events(events, now)
    w.add(0, "Events:\t<none>")
    return w.text()
