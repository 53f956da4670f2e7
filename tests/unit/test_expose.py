"""The Service `expose` derives from a pod, replication controller or Service."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.errors import PodctlError
from podctl.ops.expose import ExposeRequest, service_manifest


def rc(ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "ReplicationController",
            "metadata": {"name": "kubia", "namespace": "default", "labels": {"app": "kubia"}},
            "spec": {"selector": {"app": "kubia"},
                     "template": {"spec": {"containers": [{"name": "k", "ports": ports}]}}}}


def pod(labels: dict[str, str] | None, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": "p", "namespace": "team",
                                        **({"labels": labels} if labels else {})},
            "spec": {"containers": [{"name": "a", "ports": ports}]}}


def test_an_rc_with_port_and_target_port() -> None:
    svc = service_manifest(rc([]), ExposeRequest(port="80", target_port="8080"))
    assert svc == {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "kubia", "namespace": "default",
                                "labels": {"app": "kubia"}},
                   "spec": {"selector": {"app": "kubia"},
                            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}}


def test_ports_come_from_the_containers_without_their_names() -> None:
    svc = service_manifest(rc([{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                               {"containerPort": 8443, "protocol": "TCP"}]), ExposeRequest())
    assert svc["spec"]["ports"] == [
        {"port": 8080, "protocol": "TCP", "targetPort": 8080, "name": "port-1"},
        {"port": 8443, "protocol": "TCP", "targetPort": 8443, "name": "port-2"}]


def test_a_number_with_two_protocols_gets_protocol_suffixes() -> None:
    svc = service_manifest(rc([{"containerPort": 53, "protocol": "TCP"},
                               {"containerPort": 53, "protocol": "UDP"}]), ExposeRequest())
    assert [p["name"] for p in svc["spec"]["ports"]] == ["port-1-tcp", "port-2-udp"]


def test_a_named_target_port_applies_to_every_port() -> None:
    svc = service_manifest(rc([{"containerPort": 1, "protocol": "TCP"},
                               {"containerPort": 2, "protocol": "TCP"}]),
                           ExposeRequest(target_port="http"))
    assert {p["targetPort"] for p in svc["spec"]["ports"]} == {"http"}


def test_a_pod_is_selected_by_its_labels_and_keeps_its_namespace() -> None:
    svc = service_manifest(pod({"app": "x"}, [{"containerPort": 8080}]),
                           ExposeRequest(name="web", service_type="NodePort"))
    assert svc["metadata"] == {"name": "web", "namespace": "team", "labels": {"app": "x"}}
    assert svc["spec"]["selector"] == {"app": "x"} and svc["spec"]["type"] == "NodePort"


@pytest.mark.parametrize(("obj", "request_", "message"), [
    (pod(None, [{"containerPort": 1}]), ExposeRequest(),
     "couldn't retrieve selectors via --selector flag or introspection: the pod has no labels "
     "and cannot be exposed"),
    (pod({"a": "b"}, []), ExposeRequest(), "couldn't find port via --port flag or introspection"),
    ({"kind": "Service", "metadata": {"name": "s", "namespace": "default"},
      "spec": {"ports": [{"port": 80}]}}, ExposeRequest(),
     "couldn't retrieve selectors via --selector flag or introspection: the service has no "
     "pod selector set"),
    ({"kind": "Namespace", "metadata": {"name": "n"}}, ExposeRequest(),
     "cannot expose a Namespace"),
])
def test_errors_are_kubectls(obj: dict[str, Any], request_: ExposeRequest,
                             message: str) -> None:
    with pytest.raises(PodctlError) as caught:
        service_manifest(obj, request_)
    assert str(caught.value) == message


def test_headless_needs_no_port() -> None:
    svc = service_manifest(pod({"a": "b"}, []), ExposeRequest(cluster_ip="None"))
    assert "ports" not in svc["spec"] and svc["spec"]["clusterIP"] == "None"


def test_a_selector_flag_replaces_the_derived_one() -> None:
    svc = service_manifest(rc([]), ExposeRequest(port="80", selector="app=kubia,tier=web"))
    assert svc["spec"]["selector"] == {"app": "kubia", "tier": "web"}
