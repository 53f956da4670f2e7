"""Traffic through Services on the real engine, following the book: the kube-proxy system
pod's rules spread ClusterIP and NodePort connections over ready endpoints, the cluster
DNS answers Service names, and both follow readiness, scaling and restarts."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections import Counter
from pathlib import Path

import docker
import pytest

from .conftest import Podctl, containers_of
from .test_controller import Start

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"

CLIENT = """
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: podctl/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""

# Readiness from a file, so a test can take a replica in and out of the Service.
GATED_RC = """
apiVersion: v1
kind: ReplicationController
metadata: {name: gated}
spec:
  replicas: 3
  selector: {app: gated}
  template:
    metadata: {labels: {app: gated}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: kubia
        image: podctl/kubia:1
        ports: [{name: web, containerPort: 8080}]
        readinessProbe:
          exec: {command: ["cat", "/tmp/ready"]}
          periodSeconds: 1
          failureThreshold: 1
"""

GATED_SERVICES = """
apiVersion: v1
kind: Service
metadata: {name: gated}
spec:
  type: NodePort
  selector: {app: gated}
  ports: [{port: 80, targetPort: web}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: gated}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: gated-headless}
spec:
  clusterIP: None
  selector: {app: gated}
  ports: [{name: web, port: 8080}]
"""


def _hosts(replies: list[str]) -> Counter[str]:
    return Counter(r.removeprefix("You've hit ").strip() for r in replies if r.strip())


def _from_host(url: str, times: int) -> list[str]:
    """The replies, none when a request fails: until the proxy's rules land, a cluster IP
    is an unanswered address of the home's reserved range and a node port is closed."""
    out = []
    try:
        for _ in range(times):
            with urllib.request.urlopen(url, timeout=5) as response:
                out.append(response.read().decode())
    except OSError:
        return []
    return out


def _from_pod(podctl: Podctl, url: str, times: int) -> list[str]:
    script = (f'i=0; while [ $i -lt {times} ]; do wget -qO- {url}; echo; i=$((i+1)); done')
    return podctl("exec", "client", "--", "sh", "-c", script).splitlines()


def _names(podctl: Podctl, selector: str) -> set[str]:
    items = json.loads(podctl("get", "pods", "-l", selector, "-o", "json"))["items"]
    return {p["metadata"]["name"] for p in items if not p["metadata"].get("deletionTimestamp")}


def _cluster_ip(podctl: Podctl, name: str) -> str:
    return podctl("get", "svc", name, "-o", "jsonpath={.spec.clusterIP}")


def _ready_addresses(podctl: Podctl, name: str) -> int:
    """Ready addresses of the Service's Endpoints (0 until the controller made them)."""
    result = podctl.run("get", "ep", name, "-o", "json")
    if result.code != 0:
        return 0
    ep = json.loads(result.out)
    return sum(len(s.get("addresses") or []) for s in ep.get("subsets") or [])


def _start_client(podctl: Podctl) -> None:
    """A pod made once the cluster DNS exists, so its resolver is the cluster's."""
    podctl.wait_for(lambda: podctl.run("get", "pod", "kube-dns", "-n", "kube-system",
                                       "--no-headers").out.split()[1:3] == ["1/1", "Running"],
                    timeout=60, message="the cluster DNS pod")
    podctl.apply_yaml(CLIENT)
    podctl("wait", "--for=condition=Ready", "pod/client", "--timeout=60s")


def _spread(podctl: Podctl, url: str, want: set[str], via_pod: bool = True) -> bool:
    replies = _from_pod(podctl, url, 30) if via_pod else _from_host(url, 30)
    return set(_hosts(replies)) == want


def test_expose_rc_reaches_every_replica_by_name_and_cluster_ip(
        podctl: Podctl, controller: Start) -> None:
    controller()
    podctl("create", "-f", str(MANIFESTS / "kubia-rc.yaml"))
    assert podctl("expose", "rc", "kubia", "--port=80", "--target-port=8080") == \
        "service/kubia exposed\n"
    podctl.wait_for(lambda: _ready_addresses(podctl, "kubia") == 3, timeout=60,
                    message="3 endpoints")
    _start_client(podctl)
    replicas = _names(podctl, "app=kubia")
    assert "nameserver" in podctl("exec", "client", "--", "cat", "/etc/resolv.conf")
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in podctl(
        "exec", "client", "--", "cat", "/etc/resolv.conf")
    podctl.wait_for(lambda: _spread(podctl, "http://kubia", replicas), timeout=20,
                    message="30 requests to http://kubia reaching all 3 replicas")
    assert set(_hosts(_from_pod(podctl, "http://kubia.default.svc.cluster.local", 3))) <= \
        replicas
    podctl.apply_yaml("apiVersion: v1\nkind: Service\nmetadata: {name: alias}\nspec:\n"
                      "  type: ExternalName\n  externalName: kubia.default.svc.cluster.local\n")

    def aliased() -> bool:  # busybox's nslookup fails on the search path's NXDOMAINs
        answer = podctl.run("exec", "client", "--", "nslookup", "alias").out
        return "canonical name = kubia.default.svc.cluster.local" in answer
    podctl.wait_for(aliased, timeout=20, message="the ExternalName CNAME")
    assert set(_hosts(_from_pod(podctl, "http://alias", 3))) <= replicas
    ip = _cluster_ip(podctl, "kubia")
    assert set(_hosts(_from_host(f"http://{ip}", 30))) == replicas  # from the host too
    podctl("scale", "rc", "kubia", "--replicas=2")
    podctl.wait_for(lambda: _ready_addresses(podctl, "kubia") == 2, timeout=30,
                    message="2 endpoints after scale")
    podctl.wait_for(lambda: _spread(podctl, "http://kubia", _names(podctl, "app=kubia")),
                    timeout=20, message="traffic to the 2 replicas left")
    assert "kube-proxy" in podctl("get", "pods", "-n", "kube-system")


def test_readiness_node_port_affinity_and_headless_dns(
        podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(GATED_RC)
    podctl.apply_yaml(GATED_SERVICES)
    podctl.wait_for(lambda: len(_names(podctl, "app=gated")) == 3, message="3 pods")
    pods = sorted(_names(podctl, "app=gated"))
    for name in pods[:2]:
        podctl.wait_for(lambda name=name: podctl.run("exec", name, "--", "touch",
                                                     "/tmp/ready").code == 0,
                        message=f"{name} running")
    podctl.wait_for(lambda: _ready_addresses(podctl, "gated") == 2, timeout=30,
                    message="2 ready endpoints")
    node_port = int(podctl("get", "svc", "gated", "-o",
                           "jsonpath={.spec.ports[0].nodePort}"))
    url = f"http://127.0.0.1:{node_port}"
    podctl.wait_for(lambda: set(_hosts(_from_host(url, 30))) == set(pods[:2]), timeout=20,
                    message="NodePort traffic to the 2 ready pods only")
    podctl("exec", pods[2], "--", "touch", "/tmp/ready")
    podctl.wait_for(lambda: set(_hosts(_from_host(url, 30))) == set(pods), timeout=20,
                    message="the third pod back in once ready")
    podctl("exec", pods[0], "--", "rm", "/tmp/ready")
    podctl.wait_for(lambda: set(_hosts(_from_host(url, 30))) == set(pods[1:]), timeout=20,
                    message="a pod failing readiness gets no traffic")
    sticky = _hosts(_from_host(f"http://{_cluster_ip(podctl, 'sticky')}", 20))
    assert len(sticky) == 1, sticky  # ClientIP affinity pins this client to one pod
    _start_client(podctl)
    answer = podctl("exec", "client", "--", "nslookup",
                    "gated-headless.default.svc.cluster.local")
    ips = json.loads(podctl("get", "ep", "gated-headless", "-o", "json"))["subsets"][0]
    for address in ips["addresses"]:
        assert address["ip"] in answer
    srv = podctl("exec", "client", "--", "nslookup", "-type=SRV",
                 "_web._tcp.gated-headless.default.svc.cluster.local")
    assert "8080" in srv


def test_a_service_changed_by_apply_and_edit_serves_its_new_port(
        podctl: Podctl, controller: Start) -> None:
    controller()
    podctl("create", "-f", str(MANIFESTS / "kubia-rc.yaml"))
    manifest = ("apiVersion: v1\nkind: Service\nmetadata: {name: kubia}\nspec:\n"
                "  selector: {app: kubia}\n  ports: [{port: %d, targetPort: 8080}]\n")
    assert podctl("apply", "-f", "-", input=manifest % 80) == "service/kubia created\n"
    ip = _cluster_ip(podctl, "kubia")
    assert podctl("apply", "-f", "-", input=manifest % 81) == "service/kubia configured\n"
    assert _cluster_ip(podctl, "kubia") == ip
    podctl.wait_for(lambda: _ready_addresses(podctl, "kubia") == 3, timeout=60,
                    message="3 endpoints")
    want = _names(podctl, "app=kubia")

    def serving(url: str) -> bool:
        return _spread(podctl, url, want, via_pod=False)

    podctl.wait_for(lambda: serving(f"http://{ip}:81"), timeout=20, message="port 81")
    editor = "sed -i -e 's/port: 81/port: 82/' -e 's/ClusterIP$/NodePort/'"
    edited = podctl.run("edit", "svc", "kubia", env={"EDITOR": editor})
    assert edited.code == 0 and edited.out == "service/kubia edited\n", edited
    assert _cluster_ip(podctl, "kubia") == ip
    node_port = podctl("get", "svc", "kubia", "-o", "jsonpath={.spec.ports[0].nodePort}")
    podctl.wait_for(lambda: serving(f"http://{ip}:82") and
                    serving(f"http://127.0.0.1:{node_port}"), timeout=20, message="port 82")


def test_services_work_again_after_every_container_restarts(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    controller()
    podctl("create", "-f", str(MANIFESTS / "kubia-rc.yaml"))
    podctl("expose", "rc", "kubia", "--port=80", "--target-port=8080")
    podctl.wait_for(lambda: _ready_addresses(podctl, "kubia") == 3, timeout=60,
                    message="3 endpoints")
    ip = _cluster_ip(podctl, "kubia")

    def serving() -> bool:
        return _spread(podctl, f"http://{ip}", _names(podctl, "app=kubia"), via_pod=False)

    podctl.wait_for(serving, timeout=20, message="traffic")
    ids = [c.id for uid in podctl.pod_uids() for c in containers_of(docker_client, uid)
           if c.status == "running"]
    subprocess.run(["docker", "restart", "-t", "1", *ids], check=True, capture_output=True)
    podctl.wait_for(serving, timeout=60, message="the Service to work again")


@pytest.mark.serial
def test_services_work_again_after_a_dockerd_restart(
        podctl: Podctl, controller: Start) -> None:
    from .test_faults import _restart_dockerd, can_restart_dockerd

    if not can_restart_dockerd():
        pytest.skip("restarting the engine needs root and pidof")
    controller()
    podctl("create", "-f", str(MANIFESTS / "kubia-rc.yaml"))
    podctl("expose", "rc", "kubia", "--port=80", "--target-port=8080", "--type=NodePort")
    podctl.wait_for(lambda: _ready_addresses(podctl, "kubia") == 3, timeout=60,
                    message="3 endpoints")
    port = podctl("get", "svc", "kubia", "-o", "jsonpath={.spec.ports[0].nodePort}")

    def serving() -> bool:
        return _spread(podctl, f"http://127.0.0.1:{port}", _names(podctl, "app=kubia"),
                       via_pod=False)

    podctl.wait_for(serving, timeout=20, message="traffic")
    _restart_dockerd()
    podctl.wait_for(serving, timeout=60, message="the Service to work again")
