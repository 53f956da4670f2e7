"""kubectl's get svc / get ep columns and describe svc layout."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from podctl.printers.output import render
from podctl.printers.services import describe_service

NOW = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
CREATED = "2026-01-01T00:00:00Z"


def svc(name: str, **spec: Any) -> dict[str, Any]:
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default",
                                            "creationTimestamp": CREATED},
            "spec": {"type": "ClusterIP", **spec}, "status": {"loadBalancer": {}}}


SERVICES = [
    svc("kubernetes", clusterIP="10.96.0.1", clusterIPs=["10.96.0.1"],
        ports=[{"name": "https", "port": 443, "protocol": "TCP"}]),
    svc("kubia-lb", type="LoadBalancer", clusterIP="10.96.71.9", clusterIPs=["10.96.71.9"],
        ports=[{"port": 80, "nodePort": 32143, "protocol": "TCP"}], selector={"app": "kubia"}),
    svc("kubia-headless", clusterIP="None", clusterIPs=["None"],
        ports=[{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]),
    svc("ext", type="ExternalName", externalName="example.com"),
]


def test_get_svc_columns() -> None:
    assert render(SERVICES, None, single=False, now=NOW).splitlines() == [
        "NAME             TYPE           CLUSTER-IP   EXTERNAL-IP   PORT(S)         AGE",
        "kubernetes       ClusterIP      10.96.0.1    <none>        443/TCP         5m",
        "kubia-lb         LoadBalancer   10.96.71.9   <pending>     80:32143/TCP    5m",
        "kubia-headless   ClusterIP      None         <none>        80/TCP,53/UDP   5m",
        "ext              ExternalName   <none>       example.com   <none>          5m",
    ]


def test_get_svc_wide_adds_the_selector() -> None:
    lines = render(SERVICES[:2], "wide", single=False, now=NOW).splitlines()
    assert lines[0].endswith("AGE   SELECTOR")
    assert lines[1].endswith("<none>") and lines[2].endswith("app=kubia")


def test_get_ep_shows_three_ready_entries_then_a_count() -> None:
    ep = {"kind": "Endpoints", "metadata": {"name": "kubia", "creationTimestamp": CREATED},
          "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 3)],
                       "notReadyAddresses": [{"ip": "10.0.0.9"}],
                       "ports": [{"port": 8080}, {"port": 8443}]}]}
    empty = {"kind": "Endpoints", "metadata": {"name": "empty", "creationTimestamp": CREATED}}
    assert render([ep, empty], None, single=False, now=NOW).splitlines() == [
        "NAME    ENDPOINTS                                               AGE",
        "kubia   10.0.0.1:8080,10.0.0.2:8080,10.0.0.1:8443 + 1 more...   5m",
        "empty   <none>                                                  5m",
    ]


def test_describe_svc_layout() -> None:
    service = svc("kubia", type="NodePort", clusterIP="10.96.200.17",
                  clusterIPs=["10.96.200.17"], selector={"app": "kubia"},
                  ipFamilyPolicy="SingleStack", ipFamilies=["IPv4"], sessionAffinity="None",
                  externalTrafficPolicy="Cluster", internalTrafficPolicy="Cluster",
                  ports=[{"port": 80, "targetPort": 8080, "nodePort": 30123,
                          "protocol": "TCP"}])
    service["metadata"]["labels"] = {"app": "kubia"}
    slices = [{"kind": "EndpointSlice", "addressType": "IPv4",
               "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
               "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}},
                             {"addresses": ["10.244.0.6"], "conditions": {"ready": True}},
                             {"addresses": ["10.244.0.7"], "conditions": {"ready": False}}]}]
    assert describe_service(service, slices, [], NOW) == "\n".join([
        "Name:                     kubia",
        "Namespace:                default",
        "Labels:                   app=kubia",
        "Annotations:              <none>",
        "Selector:                 app=kubia",
        "Type:                     NodePort",
        "IP Family Policy:         SingleStack",
        "IP Families:              IPv4",
        "IP:                       10.96.200.17",
        "IPs:                      10.96.200.17",
        "Port:                     <unset>  80/TCP",
        "TargetPort:               8080/TCP",
        "NodePort:                 <unset>  30123/TCP",
        "Endpoints:                10.244.0.5:8080,10.244.0.6:8080",
        "Session Affinity:         None",
        "External Traffic Policy:  Cluster",
        "Internal Traffic Policy:  Cluster",
        "Events:                   <none>",
    ]) + "\n"


def eps(name: str, ports: list[dict[str, Any]] | None,
        endpoints: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": CREATED,
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": ports, "endpoints": endpoints}


def endpoint(ip: str, ready: bool | None = True) -> dict[str, Any]:
    conditions = {} if ready is None else {"ready": ready, "serving": ready,
                                           "terminating": False}
    return {"addresses": [ip], "conditions": conditions, "nodeName": "podctl",
            "targetRef": {"kind": "Pod", "namespace": "default", "name": f"web-{ip[-1]}"}}


HTTP = [{"name": "", "port": 8080, "protocol": "TCP"}]


def test_get_endpointslices_columns_cap_at_three_and_say_unset_when_empty() -> None:
    five = [endpoint(f"172.18.0.{i}", ready=i != 3) for i in range(1, 6)]
    many_ports = [{"name": f"p{i}", "port": 8000 + i, "protocol": "TCP"} for i in range(4)]
    slices = [eps("web-abcde", HTTP, five), eps("web-empty", None, None),
              eps("web-ports", many_ports, [endpoint("172.18.0.9")]),
              eps("web-named", [{"name": "http", "protocol": "TCP"}, {"protocol": "TCP"}],
                  [endpoint("172.18.0.8")])]
    assert render(slices, None, single=False, now=NOW).splitlines() == [
        "NAME        ADDRESSTYPE   PORTS                        ENDPOINTS"
        "                                      AGE",
        "web-abcde   IPv4          8080                         172.18.0.1,172.18.0.2,"
        "172.18.0.3 + 2 more...   5m",
        "web-empty   IPv4          <unset>                      <unset>"
        "                                        5m",
        "web-ports   IPv4          8000,8001,8002 + 1 more...   172.18.0.9"
        "                                     5m",
        "web-named   IPv4          http,*                       172.18.0.8"
        "                                     5m",
    ]


def test_describe_svc_endpoints_line_follows_the_slices() -> None:
    service = svc("web", clusterIP="10.96.0.9", clusterIPs=["10.96.0.9"],
                  selector={"app": "web"},
                  ports=[{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                         {"name": "admin", "port": 81, "targetPort": 9090, "protocol": "TCP"}])
    ports = [{"name": "http", "port": 8080, "protocol": "TCP"},
             {"name": "admin", "port": 9090, "protocol": "TCP"}]

    def lines(slices: list[dict[str, Any]]) -> list[str]:
        return [line for line in describe_service(service, slices, [], NOW).splitlines()
                if line.startswith("Endpoints:")]

    assert lines([]) == ["Endpoints:         <none>"] * 2
    # A placeholder (no ports, no endpoints) or only not-ready endpoints: an empty value.
    assert lines([eps("web-x", None, None)]) == ["Endpoints:         "] * 2
    assert lines([eps("web-x", ports, [endpoint("172.18.0.2", ready=False)])]) == \
        ["Endpoints:         "] * 2
    assert lines([eps("web-x", ports, [endpoint("172.18.0.2"),
                                       endpoint("172.18.0.3", ready=None)])]) == [
        "Endpoints:         172.18.0.2:8080,172.18.0.3:8080",
        "Endpoints:         172.18.0.2:9090,172.18.0.3:9090"]
    four = [endpoint(f"172.18.0.{i}") for i in range(1, 5)]
    assert lines([eps("web-x", ports[:1], four)])[0] == \
        "Endpoints:         172.18.0.1:8080,172.18.0.2:8080,172.18.0.3:8080 + 1 more..."
    # kubectl's count: a fourth endpoint that is not ready still adds the suffix.
    three_and_one = [*four[:3], endpoint("172.18.0.4", ready=False)]
    assert lines([eps("web-x", ports[:1], three_and_one)])[0] == \
        "Endpoints:         172.18.0.1:8080,172.18.0.2:8080,172.18.0.3:8080 + 0 more..."


def test_describe_endpointslice_layout() -> None:
    from podctl.printers.services import describe_endpoint_slice

    slice_ = eps("web-abcde", HTTP, [endpoint("172.18.0.2"),
                                     endpoint("172.18.0.3", ready=False)])
    assert describe_endpoint_slice(slice_, [], NOW) == "\n".join([
        "Name:         web-abcde",
        "Namespace:    default",
        "Labels:       kubernetes.io/service-name=web",
        "Annotations:  <none>",
        "AddressType:  IPv4",
        "Ports:",
        "  Name     Port  Protocol",
        "  ----     ----  --------",
        "  <unset>  8080  TCP",
        "Endpoints:",
        "  - Addresses:  172.18.0.2",
        "    Conditions:",
        "      Ready:    true",
        "    Hostname:   <unset>",
        "    TargetRef:  Pod/web-2",
        "    NodeName:   podctl",
        "    Zone:       <unset>",
        "  - Addresses:  172.18.0.3",
        "    Conditions:",
        "      Ready:    false",
        "    Hostname:   <unset>",
        "    TargetRef:  Pod/web-3",
        "    NodeName:   podctl",
        "    Zone:       <unset>",
        "Events:         <none>",
    ]) + "\n"
    empty = describe_endpoint_slice(eps("web-x", None, None), [], NOW).splitlines()
    assert empty[4:] == ["AddressType:  IPv4", "Ports: <unset>", "Endpoints: <none>",
                         "Events:  <none>"]
