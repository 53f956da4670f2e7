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
    endpoints = {"subsets": [{"addresses": [{"ip": "10.244.0.5"}, {"ip": "10.244.0.6"}],
                              "ports": [{"port": 8080, "protocol": "TCP"}]}]}
    assert describe_service(service, endpoints, [], NOW) == "\n".join([
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
