"""cordon, uncordon and drain, from podctl and from the real kubectl (through the API's
pods/eviction and node PATCH), on the host node whose kubelet really stops the evicted pods,
beside a fake Node registered through the registry (no kubelet runs it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import docker
import pytest
import yaml

from .conftest import BUSYBOX_IMAGE, ControllerProcess, Podctl, containers_of
from .test_api_kubectl import ApiController, api, poll
from .test_faults import STUBBORN_RC, _kill_midway

__all__ = ["api"]  # the fixture, for the kubectl test

pytestmark = pytest.mark.integration

FAKE_NODE = """\
apiVersion: v1
kind: Node
metadata:
  name: fake
  labels: {kubernetes.io/hostname: fake}
status:
  conditions: [{type: Ready, status: "True"}]
"""


def register_fake_node(podctl: Podctl) -> None:
    """A Node no kubelet runs, registered through the registry as a kubelet registers its
    own (podctl's create -f takes no Node)."""
    from podctl import registry
    from podctl.store import open_store

    store = open_store(podctl.home)
    try:
        registry.create(store, yaml.safe_load(FAKE_NODE))
    finally:
        store.close()

WORKLOADS = f"""\
apiVersion: v1
kind: ReplicationController
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{app: web}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: {BUSYBOX_IMAGE}, command: [sleep, "3600"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: bare}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{{name: c, image: {BUSYBOX_IMAGE}, command: [sleep, "3600"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: scratch, labels: {{app: scratch}}}}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{{name: data, emptyDir: {{}}}}]
  containers:
  - name: c
    image: {BUSYBOX_IMAGE}
    command: [sleep, "3600"]
    volumeMounts: [{{name: data, mountPath: /data}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: on-fake}}
spec:
  nodeName: fake
  containers: [{{name: c, image: {BUSYBOX_IMAGE}, command: [sleep, "3600"]}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: {BUSYBOX_IMAGE}, command: [sleep, "3600"]}}]
"""


def pods(podctl: Podctl) -> dict[str, dict[str, Any]]:
    """The live (not terminating) pods by name."""
    return {p["metadata"]["name"]: p
            for p in json.loads(podctl("get", "pods", "-o", "json"))["items"]
            if not p["metadata"].get("deletionTimestamp")}


def host_node(podctl: Podctl) -> str:
    """The host engine's node, once the controller registered it."""
    podctl.wait_for(lambda: podctl("get", "nodes", "-o", "name").strip() != "",
                    message="the node to register")
    return str(podctl("get", "nodes", "-o", "name").split()[0].split("/", 1)[1])


def node_status(podctl: Podctl, name: str) -> str:
    return podctl("get", "nodes", name, "--no-headers").split()[1]


def on_node(podctl: Podctl, node: str) -> dict[str, dict[str, Any]]:
    return {n: p for n, p in pods(podctl).items() if p["spec"].get("nodeName") == node}


def all_running(podctl: Podctl, node: str, count: int) -> Callable[[], bool]:
    def check() -> bool:
        running = [p for p in on_node(podctl, node).values()
                   if p.get("status", {}).get("phase") == "Running"]
        return len(running) == count
    return check


def test_podctl_drain_refuses_then_evicts_and_the_rc_replaces(
        podctl: Podctl, controller: Callable[[], ControllerProcess],
        docker_client: docker.DockerClient) -> None:
    controller()
    host = host_node(podctl)
    podctl.apply_yaml(WORKLOADS)
    podctl.wait_for(all_running(podctl, host, 5), timeout=60,
                    message="rc, bare, scratch, daemon pod")
    # Registered once the host's pods are bound: podctl's one-node scheduler (until the
    # scheduler of issue 21 lands) binds to the first node it lists.
    register_fake_node(podctl)
    before = on_node(podctl, host)
    agent = next(n for n in before if n.startswith("agent-"))
    webs = sorted(n for n in before if n.startswith("web-"))

    refused = podctl.run("drain", host)
    assert refused.code == 1 and refused.out == f"node/{host} cordoned\n"
    refusals = {
        "cannot delete Pods that declare no controller (use --force to override): "
        "default/bare",
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): "
        "default/scratch",
        f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "
        f"default/{agent}"}
    err = refused.err.splitlines()
    assert err[0].startswith(f'error: unable to drain node "{host}" due to error: [')
    assert err[0].endswith("], continuing command...")
    assert err[1:3] == ["There are pending nodes to be drained:", f" {host}"]
    assert set(err[3:]) == refusals and len(err) == 6
    assert set(on_node(podctl, host)) == set(before), "a refused drain evicts nothing"
    assert node_status(podctl, host) == "Ready,SchedulingDisabled"

    drained = podctl.run("drain", host, "--force", "--ignore-daemonsets",
                         "--delete-emptydir-data", "--timeout=60s")
    assert drained.code == 0, str(drained)
    gone = ["bare", "scratch", *webs]
    lines = drained.out.splitlines()
    assert lines[0] == f"node/{host} already cordoned"
    assert lines[1:5] == [f"evicting pod default/{n}" for n in gone]
    assert sorted(lines[5:9]) == sorted(f"pod/{n} evicted" for n in gone)
    assert lines[9:] == [f"node/{host} drained"]
    # One warning line; its parts in the order their pods first come, as podctl lists them
    # (kubectl's order is a Go map's).
    assert drained.err.startswith("Warning: ") and drained.err.count("\n") == 1
    assert set(drained.err[len("Warning: "):].rstrip("\n").split("; ")) == {
        "deleting Pods that declare no controller: default/bare, default/scratch",
        f"ignoring DaemonSet-managed Pods: default/{agent}"}
    # The kubelet stopped them: their containers are gone from the engine.
    for name in gone:
        assert containers_of(docker_client, before[name]["metadata"]["uid"]) == []
    after = pods(podctl)
    assert "bare" not in after and "scratch" not in after
    assert after[agent]["metadata"]["uid"] == before[agent]["metadata"]["uid"]
    assert "on-fake" in after, "a pod of another node is not drained"
    podctl.wait_for(lambda: len([n for n in pods(podctl) if n.startswith("web-")]) == 2,
                    message="the RC's replacements")
    assert not set(webs) & set(pods(podctl))

    assert podctl("uncordon", host) == f"node/{host} uncordoned\n"
    assert node_status(podctl, host) == "Ready"
    # A node with no pods: cordoned and drained at once.
    assert podctl("drain", "fake", "--pod-selector=app=none") == \
        "node/fake cordoned\nnode/fake drained\n"
    # Each judged from the node as read before any change, as kubectl does.
    assert podctl("uncordon", "fake", "fake") == \
        "node/fake uncordoned\nnode/fake uncordoned\n"
    assert podctl("uncordon", "fake") == "node/fake already uncordoned\n"
    missing = podctl.run("cordon", "nope")
    assert (missing.code, missing.err) == (1, 'Error from server (NotFound): nodes "nope" '
                                           "not found\n")


def test_kubectl_cordon_drain_and_eviction_through_the_api(
        podctl: Podctl, api: ApiController, docker_client: docker.DockerClient) -> None:
    kubectl = api
    host = host_node(podctl)
    kubectl("run", "bare", f"--image={BUSYBOX_IMAGE}", "--", "sleep", "3600")
    kubectl("run", "other", f"--image={BUSYBOX_IMAGE}", "--", "sleep", "3600")
    poll(all_running(podctl, host, 2), message="the pods to run")
    uids = {n: p["metadata"]["uid"] for n, p in pods(podctl).items()}

    kubectl("create", "-f", "-", input=FAKE_NODE)
    assert kubectl("cordon", "fake") == "node/fake cordoned\n"
    assert kubectl("get", "node", "fake", "--no-headers").split()[1] == \
        "Ready,SchedulingDisabled"
    assert podctl("get", "node", "fake", "-o", "jsonpath={.spec.unschedulable}") == "true"
    assert kubectl("uncordon", "fake") == "node/fake uncordoned\n"
    assert kubectl("get", "node", "fake", "-o", "jsonpath={.spec.unschedulable}") == ""

    refused = kubectl.run("drain", host)
    assert refused.code == 1 and refused.out == f"node/{host} cordoned\n"
    refusal = ("cannot delete Pods that declare no controller (use --force to override): "
               "default/bare, default/other")
    assert refused.err == (f'error: unable to drain node "{host}" due to error: {refusal}, '
                           f"continuing command...\nThere are pending nodes to be drained:\n"
                           f" {host}\n{refusal}\n")
    assert podctl("get", "nodes", host, "--no-headers").split()[1] == \
        "Ready,SchedulingDisabled"

    # An eviction of one pod by hand, with a v1beta1 body (policy/v1 is kubectl drain's).
    body = json.dumps({"apiVersion": "policy/v1beta1", "kind": "Eviction",
                       "metadata": {"name": "other"},
                       "deleteOptions": {"gracePeriodSeconds": 1}})
    path = "/api/v1/namespaces/default/pods/other/eviction"
    answer = json.loads(kubectl("create", "--raw", path, "-f", "-", input=body))
    assert answer == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                      "status": "Success", "code": 201}
    poll(lambda: "pod/other" not in podctl("get", "pods", "-o", "name"),
         message="the evicted pod to go")

    drained = kubectl("drain", host, "--force", "--grace-period=1")
    assert drained == (f"node/{host} already cordoned\nevicting pod default/bare\n"
                       f"pod/bare evicted\nnode/{host} drained\n")
    assert "bare" not in pods(podctl)
    for uid in uids.values():
        assert containers_of(docker_client, uid) == []
    assert kubectl("uncordon", host) == f"node/{host} uncordoned\n"
    assert podctl("get", "nodes", host, "--no-headers").split()[1] == "Ready"


def test_a_drain_killed_half_way_is_finished_by_the_next(
        podctl: Podctl, docker_client: docker.DockerClient) -> None:
    """No controller: the first drain is SIGKILLed once its evictions are written (the
    pods' graceful stops under way); the evictions stand, and a second drain waits for the
    same pods, stops what is left of them and has the RC replace them."""
    podctl.apply_yaml(STUBBORN_RC.format(name="stubborn", namespace="default", replicas=2))
    podctl.wait_for(lambda: all_running(podctl, host_node(podctl), 2)(), timeout=60,
                    message="2 running")
    host = host_node(podctl)
    first = {p["metadata"]["name"]: p["metadata"]["uid"]
             for p in on_node(podctl, host).values()}

    def evicted() -> bool:
        items = json.loads(podctl("get", "pods", "-o", "json"))["items"]
        return len(items) == 2 and all(p["metadata"].get("deletionTimestamp") for p in items)

    _kill_midway(podctl, ["drain", host], evicted)
    assert node_status(podctl, host) == "Ready,SchedulingDisabled"
    again = podctl.run("drain", host, "--timeout=60s")
    assert again.code == 0, str(again)
    names = sorted(first)
    lines = again.out.splitlines()
    assert lines[:3] == [f"node/{host} already cordoned",
                         *(f"evicting pod default/{n}" for n in names)]
    assert sorted(lines[3:5]) == [f"pod/{n} evicted" for n in names]  # in the order they go
    assert lines[5:] == [f"node/{host} drained"]
    for uid in first.values():
        assert containers_of(docker_client, uid) == []
    podctl.wait_for(lambda: len(pods(podctl)) == 2 and not set(pods(podctl)) & set(first),
                    message="the RC's replacements")
