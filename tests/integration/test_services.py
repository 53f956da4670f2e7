"""Services against the real engine: allocation, expose, endpoints that follow readiness,
Service variables in new containers, and homes that share the engine."""

from __future__ import annotations

import ipaddress
import json
import uuid
from pathlib import Path
from typing import Any

import docker

from .conftest import Podctl, remove_home_networks
from .test_controller import Start

SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: kubia
spec:
  selector:
    app: kubia
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: kubia-nodeport
spec:
  type: NodePort
  selector:
    app: kubia
  ports:
  - port: 80
    targetPort: 8080
"""

READY_RC = """
apiVersion: v1
kind: ReplicationController
metadata:
  name: kubia
spec:
  replicas: 3
  template:
    metadata:
      labels: {app: kubia}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: podctl/busybox:1
        command: ["sh", "-c", "touch /tmp/ready; trap 'exit 0' TERM; while true; do sleep 1; done"]
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          exec: {command: ["cat", "/tmp/ready"]}
          periodSeconds: 1
          failureThreshold: 1
"""

SLEEPER = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  enableServiceLinks: {links}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: podctl/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""


def service_range(podctl: Podctl) -> ipaddress.IPv4Network:
    ip = podctl("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}")
    return ipaddress.IPv4Network(f"{ip}/24", strict=False)


def endpoints(podctl: Podctl, name: str) -> dict[str, list[dict[str, Any]]]:
    """Ready and not-ready addresses of the Service's Endpoints (empty lists if none)."""
    result = podctl.run("get", "ep", name, "-o", "json")
    out: dict[str, list[dict[str, Any]]] = {"addresses": [], "notReadyAddresses": []}
    if result.code != 0:
        return out
    for subset in json.loads(result.out).get("subsets") or []:
        for key in out:
            out[key] += subset.get(key) or []
    return out


def ready_pods(podctl: Podctl, name: str) -> set[str]:
    return {a["targetRef"]["name"] for a in endpoints(podctl, name)["addresses"]}


def test_services_from_yaml_get_their_columns(
        podctl: Podctl, docker_client: docker.DockerClient) -> None:
    assert podctl.apply_yaml(SERVICE) == "service/kubia created\nservice/kubia-nodeport created\n"
    net = service_range(podctl)
    assert net.subnet_of(ipaddress.IPv4Network("10.96.0.0/12"))
    lines = podctl("get", "svc").splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["kubernetes"][1:5] == ["ClusterIP", str(net.network_address + 1), "<none>",
                                       "443/TCP"]
    assert rows["kubia"][1] == "ClusterIP" and rows["kubia"][4] == "80/TCP"
    assert ipaddress.ip_address(rows["kubia"][2]) in net
    node_port = rows["kubia-nodeport"][4]
    assert node_port.startswith("80:") and node_port.endswith("/TCP")
    assert 30000 <= int(node_port[3:-4]) <= 32767
    wide = podctl("get", "svc", "kubia", "-o", "wide").splitlines()
    assert wide[0].split()[-1] == "SELECTOR" and wide[1].split()[-1] == "app=kubia"
    [network] = docker_client.networks.list(
        filters={"label": "io.podctl.home"}, names=[f"podctl-services-{home_id(podctl)}"])
    assert network.attrs["IPAM"]["Config"][0]["Subnet"] == str(net)
    assert podctl("delete", "svc", "kubia") == 'service "kubia" deleted\n'
    assert podctl.run("get", "ep", "kubia").code == 1


def home_id(podctl: Podctl) -> str:
    from podctl.home import home_id as of

    return of(podctl.home)


def test_a_taken_node_port_is_refused(podctl: Podctl) -> None:
    text = SERVICE.split("---")[1].replace("    targetPort: 8080", "    nodePort: 30999")
    podctl.apply_yaml(text)
    again = podctl.run("create", "-f", "-", input=text.replace("kubia-nodeport", "other"))
    assert again.code == 1
    assert again.err.strip() == (
        'The Service "other" is invalid: spec.ports[0].nodePort: Invalid value: 30999: '
        "provided port is already allocated")


def test_endpoints_follow_readiness_and_deletion(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(READY_RC)
    out = podctl.run("expose", "rc", "kubia", "--port=80", "--target-port=8080")
    assert out.code == 0 and out.out == "service/kubia exposed\n"
    podctl.wait_for(lambda: len(ready_pods(podctl, "kubia")) == 3, timeout=60,
                    message="three ready endpoints")
    ports = json.loads(podctl("get", "ep", "kubia", "-o", "json"))["subsets"][0]["ports"]
    assert ports == [{"port": 8080, "protocol": "TCP"}]
    first, second, _ = sorted(ready_pods(podctl, "kubia"))
    podctl("exec", first, "--", "rm", "/tmp/ready")
    podctl.wait_for(lambda: first not in ready_pods(podctl, "kubia")
                    and first in {a["targetRef"]["name"]
                                  for a in endpoints(podctl, "kubia")["notReadyAddresses"]},
                    timeout=30, message="the unready pod among notReadyAddresses")
    podctl("delete", "pod", second)
    podctl.wait_for(lambda: second not in ready_pods(podctl, "kubia"), timeout=30,
                    message="the deleted pod out of the endpoints")
    described = podctl("describe", "svc", "kubia")
    assert "TargetPort:               8080/TCP" in described


def test_service_variables_reach_pods_started_after_the_service(podctl: Podctl) -> None:
    podctl.apply_yaml(SERVICE.split("---")[0])
    ip = podctl("get", "svc", "kubia", "-o", "jsonpath={.spec.clusterIP}")
    kube_ip = podctl("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}")
    podctl.apply_yaml(SLEEPER.format(name="linked", links="true"))
    podctl.apply_yaml(SLEEPER.format(name="unlinked", links="false"))
    linked = dict(line.split("=", 1) for line in
                  podctl("exec", "linked", "--", "env").splitlines() if "=" in line)
    assert linked["KUBIA_SERVICE_HOST"] == ip
    assert linked["KUBIA_SERVICE_PORT"] == "80"
    assert linked["KUBIA_PORT_80_TCP"] == f"tcp://{ip}:80"
    assert linked["KUBERNETES_SERVICE_HOST"] == kube_ip
    assert linked["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    unlinked = podctl("exec", "unlinked", "--", "env")
    assert "KUBIA_" not in unlinked and f"KUBERNETES_SERVICE_HOST={kube_ip}" in unlinked


def test_without_a_controller_create_computes_endpoints_and_warns(podctl: Podctl) -> None:
    podctl.apply_yaml(SLEEPER.format(name="solo", links="true").replace(
        "metadata:\n  name: solo", "metadata:\n  name: solo\n  labels: {app: kubia}"))
    result = podctl.run("create", "-f", "-", input=SERVICE.split("---")[0])
    assert result.code == 0 and result.out == "service/kubia created\n"
    assert "no podctl controller is running" in result.err
    assert ready_pods(podctl, "kubia") == {"solo"}
    table = podctl("get", "ep", "kubia").splitlines()
    assert table[0].split() == ["NAME", "ENDPOINTS", "AGE"]
    assert table[1].split()[1].endswith(":8080")


def test_two_homes_get_different_ranges(podctl: Podctl, tmp_path: Path,
                                        docker_client: docker.DockerClient) -> None:
    other = Podctl(tmp_path / f"other-{uuid.uuid4().hex[:6]}", tmp_path)
    try:
        for home in (podctl, other):  # a home's first Service reserves its range (no read)
            home.apply_yaml(SERVICE.split("---")[0])
        mine, theirs = service_range(podctl), service_range(other)
        assert not mine.overlaps(theirs)
        assert service_range(podctl) == mine  # found again, not reserved anew
    finally:
        remove_home_networks(docker_client, other.home)


def test_a_node_reserved_first_does_not_become_the_service_range(
        podctl: Podctl, docker_client: docker.DockerClient) -> None:
    """A node's pod CIDR is a network labelled with the home too: when `node add` ran
    before the home's first Service, its /24 was taken for the cluster IPs, and a pod on
    that node found every cluster IP on its own link (`No route to host`)."""
    from podctl.runtime import podcidrs
    from podctl.runtime.servicenet import SERVICE_CIDR, reserve_service_range

    homeid = home_id(podctl)
    try:
        pod_cidr = podcidrs.reserve(homeid, "n9")
        services = reserve_service_range(homeid)
        assert services.subnet_of(SERVICE_CIDR) and not services.overlaps(pod_cidr)
        assert reserve_service_range(homeid) == services
    finally:
        remove_home_networks(docker_client, podctl.home)
