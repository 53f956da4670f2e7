"""One flat pod network across nodes: a pod CIDR per node (none shared between homes), a
kindnet agent per node installing host-gw routes, pod-to-pod traffic across nodes with the
client's pod IP seen by the server, Services and DNS from pods on another node, routes
following nodes as they stop, start and go, and `reset` taking the home's routes away."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import Any

import docker
import pytest

from podctl.proxy.apply import exec_in
from tests.integration.conftest import BUSYBOX_IMAGE, KUBIA_IMAGE, Podctl

AGENT_IMAGE = "podctl/kindnet:1"


@pytest.fixture(autouse=True)
def images(docker_client: docker.DockerClient) -> None:
    for image in (AGENT_IMAGE, "podctl/node:1"):
        try:
            docker_client.images.get(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"image {image} is missing: run `make images`")


def pod_on(node: str, name: str, image: str = BUSYBOX_IMAGE,
           labels: dict[str, str] | None = None) -> str:
    container: dict[str, Any] = {"name": "c", "image": image}
    if image == BUSYBOX_IMAGE:
        container["command"] = ["sleep", "3600"]
    return json.dumps({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "labels": labels or {}},
                       "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                                "containers": [container]}})


def host_routes(homeid: str) -> dict[str, str]:
    """The home's routes in the host's table: pod CIDR -> gateway (read with the host's
    own `ip`, which the test may run; podctl never does)."""
    from podctl.proxy import podnet

    out = subprocess.run(["ip", "-4", "route", "show", "proto", str(podnet.ROUTE_PROTO)],
                         capture_output=True, text=True, check=True).stdout
    metric = podnet.home_metric(homeid)
    return {r.dst: r.via for r in podnet.parse_routes(out) if r.metric == metric}


def node_ip(docker_client: docker.DockerClient, podctl: Podctl, node: str) -> str:
    from podctl.runtime.nodecontainers import container_name

    found = docker_client.containers.get(container_name(podctl.homeid, node))
    return str(found.attrs["NetworkSettings"]["Networks"]["podctl"]["IPAddress"])


def node_routes(docker_client: docker.DockerClient, podctl: Podctl, node: str) -> str:
    from podctl.runtime.nodecontainers import container_name

    found = docker_client.containers.get(container_name(podctl.homeid, node))
    # podctl's exec, not docker-py's exec_run: that one drops the output of a quick command
    # on a busy machine (see runtime/execstream).
    code, out, err = exec_in(str(found.id), ["ip", "-4", "route"])
    assert code == 0, err
    return out


def running(podctl: Podctl, *names: str) -> None:
    for name in names:
        podctl.wait_for(lambda n=name: podctl.pod_json(n)["status"].get("phase") == "Running"
                        and bool(podctl.pod_json(n)["status"].get("podIP")),
                        timeout=60, message=f"{name} Running")


def ip_of(podctl: Podctl, name: str) -> str:
    return str(podctl.pod_json(name)["status"]["podIP"])


def fetch(podctl: Podctl, client: str, target: str, seconds: int = 5) -> str:
    # busybox's wget -T crashes in this build: the timeout comes from `timeout`.
    result = podctl.run("exec", client, "--", "timeout", str(seconds), "wget", "-qO-",
                        f"http://{target}/", timeout=30)
    return result.out if result.code == 0 else f"failed: {result.err.strip()}"


def seen_by(podctl: Podctl, server: str) -> list[str]:
    """The clients kubia logged (`Received request from ::ffff:IP`)."""
    return [line.rsplit(":", 1)[-1] for line in podctl("logs", server).splitlines()
            if line.startswith("Received request from")]


def test_pods_on_different_nodes_talk_unnatted_and_routes_follow_nodes(
        podctl: Podctl, controller: Any, docker_client: docker.DockerClient) -> None:
    controller()
    podctl("node", "add", "n2")
    podctl("node", "add", "n3")
    nodes = {n["metadata"]["name"]: n for n in json.loads(podctl("get", "nodes", "-o",
                                                                 "json"))["items"]}
    host = next(name for name in nodes if name not in ("n2", "n3"))
    cidrs = {name: ipaddress.IPv4Network(node["spec"]["podCIDR"])
             for name, node in nodes.items()}
    assert all(nodes[n]["spec"]["podCIDRs"] == [str(cidrs[n])] for n in nodes)
    assert not any(a.overlaps(b) for a in cidrs.values() for b in cidrs.values() if a is not b)
    assert cidrs["n2"].prefixlen == 24 and cidrs["n2"].subnet_of(
        ipaddress.IPv4Network("10.244.0.0/16"))
    # Held on the host's engine, so no other home can be handed the same /24.
    held = {str(ipaddress.IPv4Network(c["Subnet"]))
            for net in docker_client.networks.list(
                filters={"label": f"io.podctl.home={podctl.homeid}"})
            for c in net.attrs["IPAM"]["Config"] or []}
    assert {str(cidrs["n2"]), str(cidrs["n3"])} <= held

    for name, node in (("s1", host), ("s2", "n2"), ("s3", "n3")):
        podctl.apply_yaml(pod_on(node, name, KUBIA_IMAGE))
    for name, node in (("c1", host), ("c2", "n2"), ("c3", "n3")):
        podctl.apply_yaml(pod_on(node, name))
    running(podctl, "s1", "s2", "s3", "c1", "c2", "c3")
    for name, node in (("s1", host), ("s2", "n2"), ("s3", "n3")):
        assert ipaddress.IPv4Address(ip_of(podctl, name)) in cidrs[node]

    podctl.wait_for(lambda: host_routes(podctl.homeid) == {
        str(cidrs["n2"]): node_ip(docker_client, podctl, "n2"),
        str(cidrs["n3"]): node_ip(docker_client, podctl, "n3")},
        timeout=30, message="the host's routes to n2 and n3")
    # kind's kindnet: a DaemonSet with an agent on each node, the host's included.
    agents = json.loads(podctl("get", "pods", "-n", "kube-system", "-l", "app=kindnet",
                               "-o", "json"))["items"]
    assert sorted(p["spec"]["nodeName"] for p in agents) == sorted([host, "n2", "n3"])
    # Every client reaches every server, and every server sees the client's own pod IP.
    # (A server Running may take a moment to listen: each first answer is waited for.)
    for client in ("c1", "c2", "c3"):
        for server in ("s1", "s2", "s3"):
            podctl.wait_for(lambda c=client, s=server: f"You've hit {s}" in fetch(
                podctl, c, ip_of(podctl, s) + ":8080"), timeout=20,
                message=f"{client} -> {server}")
    for server in ("s1", "s2", "s3"):
        assert set(seen_by(podctl, server)) == {ip_of(podctl, c) for c in ("c1", "c2", "c3")}

    # A node that goes: its routes go, on the host and on the other node.
    podctl("node", "delete", "n3")
    podctl.wait_for(lambda: host_routes(podctl.homeid) == {
        str(cidrs["n2"]): node_ip(docker_client, podctl, "n2")},
        timeout=30, message="n3's route gone from the host")
    podctl.wait_for(lambda: str(cidrs["n3"]) not in node_routes(docker_client, podctl, "n2"),
                    timeout=30, message="n3's route gone from n2")

    # A node that crashes and comes back (maybe on another address): routes and rules
    # again in its new network namespace, traffic both ways again.
    podctl("node", "stop", "n2")
    podctl("node", "start", "n2")

    def back() -> bool:
        return host_routes(podctl.homeid) == {str(cidrs["n2"]):
                                              node_ip(docker_client, podctl, "n2")}

    podctl.wait_for(back, timeout=30, message="the host's route to n2 again")
    running(podctl, "s2", "c2")
    podctl.wait_for(lambda: "You've hit s2" in fetch(podctl, "c1",
                                                     ip_of(podctl, "s2") + ":8080"),
                    timeout=30, message="c1 -> s2 after n2's restart")
    podctl.wait_for(lambda: "You've hit s1" in fetch(podctl, "c2",
                                                     ip_of(podctl, "s1") + ":8080"),
                    timeout=30, message="c2 -> s1 after n2's restart")

    # The last node container gone: the host's routes of this home and the agents go.
    podctl("node", "delete", "n2")
    podctl.wait_for(lambda: host_routes(podctl.homeid) == {}, timeout=30,
                    message="no route of this home left")
    podctl.wait_for(lambda: "kindnet" not in podctl("get", "pods,ds", "-n", "kube-system"),
                    timeout=30, message="the agents gone")


def test_services_nodeports_and_dns_across_nodes_and_reset_removes_routes(
        podctl: Podctl, controller: Any) -> None:
    controller()
    podctl("node", "add", "n2")
    nodes = [n["metadata"]["name"] for n in json.loads(podctl("get", "nodes", "-o",
                                                              "json"))["items"]]
    host = next(name for name in nodes if name != "n2")
    podctl.apply_yaml(pod_on(host, "web-1", KUBIA_IMAGE, {"app": "web"}))
    podctl.apply_yaml(pod_on("n2", "web-2", KUBIA_IMAGE, {"app": "web"}))
    podctl.apply_yaml(json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "NodePort", "selector": {"app": "web"},
                 "ports": [{"port": 80, "targetPort": 8080}]}}))
    running(podctl, "web-1", "web-2")
    # Clients made once the cluster DNS exists get it (ClusterFirst).
    podctl.apply_yaml(pod_on(host, "c1"))
    podctl.apply_yaml(pod_on("n2", "c2"))
    running(podctl, "c1", "c2")
    vip = json.loads(podctl("get", "svc", "web", "-o", "json"))["spec"]["clusterIP"]
    last: dict[str, str] = {}
    for client in ("c1", "c2"):
        hit = set()
        # Both endpoints, the one on the client's own node included (its replies must come
        # back through the DNAT), by cluster IP and by name.
        def through_vip(c: str = client) -> bool:
            last[c] = fetch(podctl, c, vip)
            return "You've hit web-" in last[c]

        try:
            podctl.wait_for(through_vip, timeout=30, message=f"{client} -> the Service")
        except AssertionError as exc:
            # Which half fails: the Service's rules, or the pod network under them.
            direct = {name: fetch(podctl, client, ip_of(podctl, name) + ":8080")
                      for name in ("web-1", "web-2")}
            raise AssertionError(f"{exc}: last {last.get(client)!r}; directly: {direct}") \
                from None
        for _ in range(40):
            out = fetch(podctl, client, vip)
            assert "You've hit web-" in out, (client, out)
            hit.add(out.strip())
            if len(hit) == 2:
                break
        assert hit == {"You've hit web-1", "You've hit web-2"}, client
        assert "You've hit web-" in fetch(podctl, client, "web"), client
    assert host_routes(podctl.homeid)
    # Each node's kube-proxy DNATs at the client's node: the endpoint sees the client's
    # pod IP whichever node either is on.
    assert ip_of(podctl, "c2") in seen_by(podctl, "web-1")
    assert ip_of(podctl, "c1") in seen_by(podctl, "web-2")
    # A NodePort answers on a node container's address too.
    service = json.loads(podctl("get", "svc", "web", "-o", "json"))
    node_port = service["spec"]["ports"][0]["nodePort"]
    n2 = json.loads(podctl("get", "node", "n2", "-o", "json"))
    address = next(a["address"] for a in n2["status"]["addresses"]
                   if a["type"] == "InternalIP")
    podctl.wait_for(lambda: "You've hit web-" in fetch(podctl, "c1", f"{address}:{node_port}"),
                    timeout=20, message="the NodePort on n2's address")

    # The host's agent takes the home's route with it, before the containers go.
    assert "Deleted routes: 1 of the pod network\n" in podctl("reset")
    assert host_routes(podctl.homeid) == {}


def test_two_homes_on_one_host_keep_apart(podctl: Podctl, tmp_path: Any) -> None:
    """Each home's node gets its own /24 and its own routes in the host's table; one
    home's reset takes only its own, and the other's pods still talk across nodes."""
    from tests.integration.conftest import remove_home

    other = Podctl(tmp_path / "other-home", tmp_path)
    try:
        podctl("node", "add", "n2")
        other("node", "add", "n2")
        mine = json.loads(podctl("get", "node", "n2", "-o", "json"))["spec"]["podCIDR"]
        theirs = json.loads(other("get", "node", "n2", "-o", "json"))["spec"]["podCIDR"]
        assert not ipaddress.IPv4Network(mine).overlaps(ipaddress.IPv4Network(theirs))
        assert set(host_routes(podctl.homeid)) == {mine}
        assert set(host_routes(other.homeid)) == {theirs}

        assert "Deleted routes: 1 of the pod network\n" in other("reset")
        assert host_routes(other.homeid) == {}
        assert set(host_routes(podctl.homeid)) == {mine}
        host = next(n["metadata"]["name"] for n in json.loads(podctl(
            "get", "nodes", "-o", "json"))["items"] if n["metadata"]["name"] != "n2")
        podctl.apply_yaml(pod_on("n2", "s2", KUBIA_IMAGE))
        podctl.apply_yaml(pod_on(host, "c1"))
        running(podctl, "s2", "c1")
        podctl.wait_for(lambda: "You've hit s2" in fetch(podctl, "c1",
                                                         ip_of(podctl, "s2") + ":8080"),
                        timeout=20, message="c1 -> s2 after the other home's reset")
    finally:
        remove_home(other.home)


def test_routes_follow_nodes_with_the_controller_killed(
        podctl: Podctl, controller: Any, docker_client: docker.DockerClient) -> None:
    """kill -9 of the controller leaves the routes (pods keep talking); a node added and
    one deleted meanwhile get their routes from the commands' own pass; the next
    controller finds nothing to change."""
    first = controller()
    podctl("node", "add", "n2")
    podctl("node", "add", "n3")
    cidr = {name: json.loads(podctl("get", "node", name, "-o", "json"))["spec"]["podCIDR"]
            for name in ("n2", "n3")}
    podctl.wait_for(lambda: set(host_routes(podctl.homeid)) == set(cidr.values()),
                    timeout=30, message="routes to n2 and n3")
    first.kill()
    assert set(host_routes(podctl.homeid)) == set(cidr.values())

    podctl("node", "delete", "n3")
    # Done by the command itself: no controller runs.
    assert set(host_routes(podctl.homeid)) == {cidr["n2"]}
    assert cidr["n3"] not in node_routes(docker_client, podctl, "n2")
    podctl("node", "add", "n4")
    n4 = json.loads(podctl("get", "node", "n4", "-o", "json"))["spec"]["podCIDR"]
    assert host_routes(podctl.homeid) == {cidr["n2"]: node_ip(docker_client, podctl, "n2"),
                                          n4: node_ip(docker_client, podctl, "n4")}
    assert n4 in node_routes(docker_client, podctl, "n2")

    controller()
    podctl.apply_yaml(pod_on("n4", "s4", KUBIA_IMAGE))
    podctl.apply_yaml(pod_on("n2", "c2"))
    running(podctl, "s4", "c2")
    podctl.wait_for(lambda: "You've hit s4" in fetch(podctl, "c2",
                                                     ip_of(podctl, "s4") + ":8080"),
                    timeout=20, message="c2 -> s4")
    assert set(seen_by(podctl, "s4")) == {ip_of(podctl, "c2")}
