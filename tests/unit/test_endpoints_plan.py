"""The endpoints controller's plan: which pods are addresses, which are not ready, ports."""

from __future__ import annotations

from typing import Any

from podctl.controllers.endpoints import find_port, plan_endpoints, selected


def svc(ports: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {"kind": "Service", "metadata": {"name": "kubia", "namespace": "default",
                                            "labels": {"app": "kubia"}},
            "spec": {"selector": {"app": "kubia"},
                     "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]
                     if ports is None else ports, "clusterIP": "10.96.0.20", **spec}}


def pod(name: str, ip: str, ready: bool = True, phase: str = "Running",
        terminating: bool = False, ports: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                          "labels": {"app": "kubia"} if labels is None else labels}
    if terminating:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"kind": "Pod", "metadata": md,
            "spec": {"nodeName": "node-1",
                     "containers": [{"name": "c", "ports": ports or []}]},
            "status": {"phase": phase, "podIP": ip,
                       "conditions": [{"type": "Ready",
                                       "status": "True" if ready else "False"}]}}


def test_ready_pods_are_addresses_sorted_by_ip_as_text() -> None:
    ep = plan_endpoints(svc(), [pod("a", "172.18.0.9"), pod("b", "172.18.0.10")])
    [subset] = ep["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["172.18.0.10", "172.18.0.9"]
    assert subset["addresses"][0]["targetRef"] == {"kind": "Pod", "namespace": "default",
                                                   "name": "b", "uid": "uid-b"}
    assert subset["addresses"][0]["nodeName"] == "node-1"
    assert subset["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert ep["metadata"] == {"name": "kubia", "namespace": "default",
                              "labels": {"app": "kubia"}}


def test_unready_pods_are_not_ready_addresses() -> None:
    [subset] = plan_endpoints(svc(), [pod("a", "172.18.0.2"),
                                      pod("b", "172.18.0.3", ready=False)])["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["172.18.0.2"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["172.18.0.3"]


def test_terminating_terminal_and_ip_less_pods_are_left_out() -> None:
    ep = plan_endpoints(svc(), [pod("a", "172.18.0.2", terminating=True),
                                pod("b", "172.18.0.3", phase="Succeeded"),
                                pod("c", "")])
    assert "subsets" not in ep


def test_publish_not_ready_addresses_publishes_everything_as_ready() -> None:
    [subset] = plan_endpoints(svc(publishNotReadyAddresses=True),
                              [pod("a", "172.18.0.2", ready=False),
                               pod("b", "172.18.0.3", terminating=True)])["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["172.18.0.2", "172.18.0.3"]
    assert "notReadyAddresses" not in subset


def test_named_target_ports_resolve_per_pod() -> None:
    service = svc([{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}])
    a = pod("a", "172.18.0.2", ports=[{"name": "web", "containerPort": 8080,
                                       "protocol": "TCP"}])
    b = pod("b", "172.18.0.3", ports=[{"name": "web", "containerPort": 9090,
                                       "protocol": "TCP"}])
    c = pod("c", "172.18.0.4", ports=[{"name": "web", "containerPort": 7070,
                                       "protocol": "UDP"}])
    subsets = plan_endpoints(service, [a, b, c])["subsets"]
    assert [(s["ports"], [x["ip"] for x in s["addresses"]]) for s in subsets] == [
        ([{"name": "http", "port": 8080, "protocol": "TCP"}], ["172.18.0.2"]),
        ([{"name": "http", "port": 9090, "protocol": "TCP"}], ["172.18.0.3"]),
    ]
    assert find_port(c, service["spec"]["ports"][0]) is None


def test_a_number_target_port_is_used_even_if_no_container_declares_it() -> None:
    assert find_port(pod("a", "1.2.3.4"), {"port": 80, "targetPort": 9999}) == 9999


def test_headless_without_ports_gets_port_less_addresses_and_the_headless_label() -> None:
    ep = plan_endpoints(svc([], clusterIP="None"), [pod("a", "172.18.0.2")])
    assert ep["subsets"] == [{"addresses": [
        {"ip": "172.18.0.2", "nodeName": "node-1",
         "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"}}]}]
    assert ep["metadata"]["labels"]["service.kubernetes.io/headless"] == ""


def test_hostname_only_when_the_subdomain_is_the_service() -> None:
    p = pod("a", "172.18.0.2")
    p["spec"].update(hostname="web-0", subdomain="kubia")
    [address] = plan_endpoints(svc(), [p])["subsets"][0]["addresses"]
    assert address["hostname"] == "web-0"


def test_selection_is_by_every_selector_pair_in_the_namespace() -> None:
    other_ns = pod("x", "1.1.1.1")
    other_ns["metadata"]["namespace"] = "team"
    pods = [pod("a", "1.1.1.2"), pod("b", "1.1.1.3", labels={"app": "other"}), other_ns]
    assert [p["metadata"]["name"] for p in selected(svc(), pods)] == ["a"]
