"""Nodes, nodeSelector scheduling and hostPort on the real engine."""

from __future__ import annotations

import random
import socket

from .conftest import Podctl, answers, http_get
from .test_controller import Start

GPU = """
apiVersion: v1
kind: Pod
metadata: {name: kubia-gpu}
spec:
  nodeSelector: {gpu: "true"}
  containers: [{name: kubia, image: podctl/kubia:1}]
"""


def node_name(podctl: Podctl) -> str:
    return podctl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")


def registered_node(podctl: Podctl, controller: Start) -> str:
    """The node's name once a controller registered it, the kubelet's job at its start (no
    read makes it); the controller is stopped again."""
    process = controller()
    podctl.wait_for(lambda: podctl("get", "nodes", "-o", "name").strip() != "",
                    message="the node to register")
    process.stop()
    return node_name(podctl)


def phase(podctl: Podctl, pod: str) -> str:
    return str(podctl.pod_json(pod)["status"]["phase"])


def test_get_and_describe_node(podctl: Podctl, controller: Start) -> None:
    assert podctl("get", "nodes", "-o", "name") == ""  # a read never makes it
    controller()
    podctl.wait_for(lambda: podctl("get", "nodes") != "", message="the node to register")
    header, row = podctl("get", "nodes").splitlines()
    assert header.split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert row.split()[1:3] == ["Ready", "<none>"]
    wide = podctl("get", "nodes", "-o", "wide").splitlines()[0].split()
    assert wide[5:] == ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION",
                        "CONTAINER-RUNTIME"]
    name = node_name(podctl)
    described = podctl("describe", "node", name)
    for fragment in (f"kubernetes.io/hostname={name}", "kubernetes.io/os=linux",
                     "Container Runtime Version:  docker://", "Capacity:", "cpu:",
                     "Non-terminated Pods:"):
        assert fragment in described, fragment


def test_pending_until_node_is_labelled(podctl: Podctl) -> None:
    podctl.apply_yaml(GPU)
    assert phase(podctl, "kubia-gpu") == "Pending"
    pod = podctl.pod_json("kubia-gpu")
    assert "nodeName" not in pod["spec"] and "containerStatuses" not in pod["status"]
    scheduled = pod["status"]["conditions"][0]
    assert scheduled["type"] == "PodScheduled" and scheduled["reason"] == "Unschedulable"
    assert "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector." in (
        podctl("describe", "pod", "kubia-gpu"))
    name = node_name(podctl)
    assert podctl("label", "node", name, "gpu=true") == f"node/{name} labeled\n"
    podctl.wait_for(lambda: phase(podctl, "kubia-gpu") == "Running", message="Running")
    assert "Successfully assigned default/kubia-gpu to" in podctl("describe", "pod", "kubia-gpu")


def test_controller_schedules_when_labels_change(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(GPU)
    name = node_name(podctl)
    podctl("label", "node", name, "gpu=true")
    podctl.wait_for(lambda: phase(podctl, "kubia-gpu") == "Running", message="Running")
    assert podctl("label", "node", name, "gpu-") == f"node/{name} unlabeled\n"


def test_hostname_selector_and_explicit_node_name(podctl: Podctl, controller: Start) -> None:
    name = registered_node(podctl, controller)
    podctl.apply_yaml(f"""
apiVersion: v1
kind: Pod
metadata: {{name: pinned}}
spec:
  nodeSelector: {{kubernetes.io/hostname: {name}}}
  containers: [{{name: kubia, image: podctl/kubia:1}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: elsewhere}}
spec:
  nodeName: no-such-node
  containers: [{{name: kubia, image: podctl/kubia:1}}]
""")
    assert phase(podctl, "pinned") == "Running"
    assert phase(podctl, "elsewhere") == "Pending"
    assert podctl.pod_json("elsewhere")["spec"]["nodeName"] == "no-such-node"


def free_port() -> int:
    """A port nothing holds on any address, below the kernel's ephemeral range (32768+),
    so no outgoing connection can take it between this check and Docker's bind."""
    for _ in range(50):
        port = random.randint(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port")


def test_host_port_is_published_and_conflicts_are_unschedulable(podctl: Podctl) -> None:
    port = free_port()
    manifest = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: kubia
    image: podctl/kubia:1
    ports: [{{containerPort: 8080, hostPort: {port}}}]
"""
    podctl.apply_yaml(manifest.format(name="first", port=port))
    try:
        podctl.wait_for(lambda: answers(f"http://127.0.0.1:{port}/"), message="hostPort")
    except AssertionError as exc:
        raise AssertionError(podctl("describe", "pod", "first")) from exc
    assert http_get(f"http://127.0.0.1:{port}/") == "You've hit first\n"
    podctl.apply_yaml(manifest.format(name="second", port=port))
    assert phase(podctl, "second") == "Pending"
    assert "didn't have free ports for the requested pod ports" in podctl(
        "describe", "pod", "second")
    described = podctl("describe", "pod", "first")
    assert f"Host Port:      {port}/TCP" in described



def test_host_network_pod_uses_the_node_network(podctl: Podctl) -> None:
    port = free_port()
    podctl.apply_yaml(f"""
apiVersion: v1
kind: Pod
metadata: {{name: hostnet}}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: podctl/kubia:1
    env: [{{name: PORT, value: "{port}"}}]
""")
    pod = podctl.pod_json("hostnet")
    assert pod["status"]["podIP"] == pod["status"]["hostIP"]
    podctl.wait_for(lambda: answers(f"http://127.0.0.1:{port}/"), message="host port")
    assert http_get(f"http://127.0.0.1:{port}/").startswith("You've hit ")
