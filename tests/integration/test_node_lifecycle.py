"""Node lifecycle on the real engine: the host node's heartbeats, a node whose kubelet
stops posting (a fake node: this test is its kubelet, beating with podctl's own
Heartbeat, then going silent), NotReady and the unreachable taints, taint eviction after
the toleration, a ReplicationController's replacement on the Ready node while a bare pod
is not recreated, and the node's return. Short grace and toleration flags."""

from __future__ import annotations

import functools
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from podctl import registry
from podctl.kubelet.heartbeat import Heartbeat
from podctl.notify import notify_controller
from podctl.store import Store, open_store

from .conftest import ControllerProcess, Podctl
from .test_api_kubectl import ApiController

Start = Callable[..., ControllerProcess]
SHORT = ("--node-monitor-grace-period=3s", "--node-monitor-period=1s",
         "--default-unreachable-toleration-seconds=2")
FACTS = {"addresses": [{"type": "InternalIP", "address": "192.0.2.10"}],
         "capacity": {"cpu": "2", "memory": "1024Ki", "pods": "110"},
         "allocatable": {"cpu": "2", "memory": "1024Ki", "pods": "110"},
         "nodeInfo": {"kubeletVersion": "fake"}}


class FakeKubelet:
    """A node with no engine: its kubelet's heartbeats, sent from this test."""

    def __init__(self, store: Store, name: str) -> None:
        self.beat = Heartbeat(store, name, lambda: FACTS, renew_interval=0.3, on_node=True)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.beat.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def crash(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


@pytest.fixture
def store(podctl: Podctl) -> Iterator[Store]:
    """The test's own writer to the home's store, waking the controller as podctl does."""
    podctl.home.mkdir(parents=True, exist_ok=True)
    opened = open_store(podctl.home, functools.partial(notify_controller, podctl.home))
    yield opened
    opened.close()


def nodes(podctl: Podctl) -> dict[str, str]:
    rows = podctl("get", "nodes", "--no-headers").splitlines()
    return {row.split()[0]: row.split()[1] for row in rows}


def pod(podctl: Podctl, name: str) -> dict[str, Any] | None:
    result = podctl.run("get", "pod", name, "-o", "json")
    return json.loads(result.out) if result.code == 0 else None


def rc_yaml(name: str, node: str) -> str:
    return f"""
apiVersion: v1
kind: ReplicationController
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{app: {name}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: main, image: podctl/busybox:1, command: [sleep, "3600"]}}]
"""


def test_a_silent_node_is_tainted_its_pods_evicted_and_replaced(
        podctl: Podctl, controller: Start, store: Store) -> None:
    controller(*SHORT)
    podctl.wait_for(lambda: "Ready" in nodes(podctl).values(), message="the host node")
    host = next(iter(nodes(podctl)))
    # The node registers Ready; its Lease comes with the kubelet's first heartbeat after.
    podctl.wait_for(lambda: podctl("get", "leases", "-n", "kube-node-lease",
                                   "--no-headers").split()[:2] == [host, host],
                    message="the host node's Lease")

    fake = f"fake-{uuid.uuid4().hex[:6]}"
    registry.create(store, {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": fake, "labels": {"kubernetes.io/hostname": fake}}, "spec": {}})
    kubelet = FakeKubelet(store, fake)
    kubelet.start()
    podctl.wait_for(lambda: nodes(podctl).get(fake) == "Ready", message="the fake node Ready")

    app = f"app-{uuid.uuid4().hex[:6]}"
    spec = {"nodeName": fake, "containers": [
        {"name": "main", "image": "podctl/busybox:1", "command": ["sleep", "3600"]}]}
    registry.create(store, {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": f"{app}-on-fake", "labels": {"app": app}}, "spec": spec})
    registry.create(store, {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "bare"}, "spec": spec})
    podctl.apply_yaml(rc_yaml(app, fake))  # adopts the pod already on the fake node
    podctl.wait_for(lambda: (pod(podctl, f"{app}-on-fake") or {}).get("metadata", {}).get(
        "ownerReferences") is not None, message="the RC to adopt its pod")
    assert [t["tolerationSeconds"] for t in pod(podctl, "bare")["spec"]["tolerations"]] == \
        [300, 2]

    kubelet.crash()
    podctl.wait_for(lambda: nodes(podctl).get(fake) == "NotReady", timeout=15,
                    message="the silent node NotReady")
    described = podctl("describe", "node", fake)
    assert "node.kubernetes.io/unreachable:NoExecute" in described
    assert "Kubelet stopped posting node status." in described
    assert f"Node {fake} status is now: NodeNotReady" in podctl("get", "events", "-A")

    def terminating(name: str) -> bool:
        found = pod(podctl, name)
        return found is not None and bool(found["metadata"].get("deletionTimestamp"))

    podctl.wait_for(lambda: terminating("bare") and terminating(f"{app}-on-fake"),
                    timeout=15, message="the pods evicted after their 2 s toleration")
    assert "Marking for deletion Pod default/bare" in podctl("get", "events")

    def replaced() -> bool:
        out = podctl("get", "pods", "-l", f"app={app}", "-o", "json")
        return any(p["spec"].get("nodeName") == host and p["status"].get("phase") == "Running"
                   for p in json.loads(out)["items"])

    podctl.wait_for(replaced, timeout=60, message="the RC's replacement Running on the host")
    # Its kubelet unreachable, the evicted pods stay Terminating; the bare one is not made
    # again anywhere.
    assert terminating("bare") and terminating(f"{app}-on-fake")
    assert [p["metadata"]["name"] for p in json.loads(podctl("get", "pods", "-o", "json"))[
        "items"] if not p["metadata"]["name"].startswith(app)] == ["bare"]

    kubelet.start()  # the node comes back
    podctl.wait_for(lambda: nodes(podctl).get(fake) == "Ready", timeout=15,
                    message="the node Ready again")
    podctl.wait_for(lambda: pod(podctl, "bare") is None and pod(podctl, f"{app}-on-fake")
                    is None, timeout=15, message="its Terminating pods finished")
    podctl.wait_for(lambda: "Taints:             <none>" in podctl("describe", "node", fake),
                    message="its taints removed")
    kubelet.crash()


def test_create_without_a_controller_adds_the_controllers_tolerations(
        podctl: Podctl, controller: Start) -> None:
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: NAME}
spec:
  nodeSelector: {nowhere: "true"}
  containers: [{name: main, image: podctl/busybox:1}]
"""
    podctl.apply_yaml(manifest.replace("NAME", "before"))
    lines = [line.split() for line in podctl("describe", "pod", "before").splitlines()]
    at = lines.index(["Tolerations:", "node.kubernetes.io/not-ready:NoExecute", "op=Exists",
                      "for", "300s"])
    assert lines[at + 1] == ["node.kubernetes.io/unreachable:NoExecute", "op=Exists", "for",
                             "300s"]
    process = controller("--default-not-ready-toleration-seconds=7",
                         "--default-unreachable-toleration-seconds=9")
    process.wait_log("controller active")
    process.stop()
    podctl.apply_yaml(manifest.replace("NAME", "after"))
    seconds = [t["tolerationSeconds"] for t in podctl.pod_json("after")["spec"]["tolerations"]]
    assert seconds == [7, 9]


def test_bad_durations_are_refused(podctl: Podctl) -> None:
    result = podctl.run("run-controller", "--node-monitor-grace-period=5x")
    assert result.code != 0
    assert 'invalid argument "5x" for "--node-monitor-grace-period" flag: time: invalid ' \
           'duration "5x"' in result.err


def test_kubectl_sees_leases_nodes_going_not_ready_and_default_tolerations(
        podctl: Podctl) -> None:
    api = ApiController(podctl, *SHORT)
    try:
        podctl.wait_for(lambda: " Ready " in api("get", "nodes"), message="the host Ready")
        host = api("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")
        header, row = api("get", "leases", "-n", "kube-node-lease").splitlines()
        assert header.split() == ["NAME", "HOLDER", "AGE"] and row.split()[:2] == [host, host]
        lease = json.loads(api("get", "lease", host, "-n", "kube-node-lease", "-o", "json"))
        assert lease["spec"]["leaseDurationSeconds"] == 40

        def lease_block(text: str) -> list[str]:
            lines = text.splitlines()
            at = lines.index("Lease:")
            return [" ".join(line.split()) for line in lines[at:at + 3]]

        assert lease_block(api("describe", "node", host)) == \
            lease_block(podctl("describe", "node", host)) == \
            ["Lease:", f"HolderIdentity: {host}", "AcquireTime: <unset>"]
        # A Node registered with a Ready status whose kubelet never renews a lease.
        fake = f"fake-{uuid.uuid4().hex[:6]}"
        api("create", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": fake},
            "status": {"conditions": [{"type": "Ready", "status": "True",
                                       "reason": "KubeletReady", "message": "posting"}]}}))
        podctl.wait_for(lambda: f"{fake}   NotReady" in api("get", "nodes"), timeout=15,
                        message="the silent node NotReady")
        taints = json.loads(api("get", "node", fake, "-o", "json"))["spec"]["taints"]
        assert [(t["key"], t["effect"]) for t in taints] == [
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoSchedule")]
        assert api("get", "node", host, "-o", "jsonpath={.spec.taints}") == ""
        api("run", "probe", "--image=podctl/busybox:1", "--", "sleep", "3600")
        tolerations = json.loads(api("get", "pod", "probe", "-o", "json"))["spec"]["tolerations"]
        assert [(t["key"], t["tolerationSeconds"]) for t in tolerations] == [
            ("node.kubernetes.io/not-ready", 300), ("node.kubernetes.io/unreachable", 2)]
        refused = api.fails("create", "-f", "-", input=json.dumps({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": host, "namespace": "kube-node-lease"}}))
        # Leases are writable as upstream's (leader election); the kubelet's is there.
        assert refused == ('Error from server (AlreadyExists): error when creating "STDIN": '
                           f'leases.coordination.k8s.io "{host}" already exists\n')
    finally:
        api.stop()


def test_a_controller_killed_while_a_node_is_down_evicts_once_after_restart(
        podctl: Podctl, controller: Start, store: Store) -> None:
    flags = ("--node-monitor-grace-period=3s", "--node-monitor-period=1s",
             "--default-unreachable-toleration-seconds=6")
    first = controller(*flags)
    podctl.wait_for(lambda: "Ready" in nodes(podctl).values(), message="the host node")
    fake = f"fake-{uuid.uuid4().hex[:6]}"
    registry.create(store, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": fake},
                            "spec": {}})
    kubelet = FakeKubelet(store, fake)
    kubelet.start()
    podctl.wait_for(lambda: nodes(podctl).get(fake) == "Ready", message="the fake node Ready")
    registry.create(store, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                            "spec": {"nodeName": fake, "containers": [
                                {"name": "main", "image": "podctl/busybox:1"}]}})
    kubelet.crash()
    podctl.wait_for(lambda: "unreachable:NoExecute" in podctl("describe", "node", fake),
                    timeout=15, message="the unreachable taint")
    first.kill()  # kill -9: nothing of its memory survives
    assert not (pod(podctl, "p") or {}).get("metadata", {}).get("deletionTimestamp")
    controller(*flags)
    podctl.wait_for(lambda: bool((pod(podctl, "p") or {}).get("metadata", {}).get(
        "deletionTimestamp")), timeout=20, message="the eviction after the restart")
    evictions = [e for e in json.loads(podctl("get", "events", "-o", "json"))["items"]
                 if e["reason"] == "TaintManagerEviction"]
    assert [(e["message"], e["count"]) for e in evictions] == [
        ("Marking for deletion Pod default/p", 1)]
    taints = json.loads(podctl("get", "node", fake, "-o", "json"))["spec"]["taints"]
    assert len(taints) == 2  # kept, not added twice


def test_the_seeds_story_on_a_node_container(podctl: Podctl, controller: Start) -> None:
    """Chapter 4's promise on a real second node: an RC of 2 spread over the host and n2
    plus a bare pod on n2; n2 crashes (`node stop`): NotReady, its pods evicted, the RC back
    to 2 on the host, the bare pod not made again (Terminating while n2 is down); n2
    started again: Ready, untainted, and its kubelet finishes the evicted pods."""
    from .test_nodes import pod_on

    controller(*SHORT)
    podctl("node", "add", "n2")
    podctl.wait_for(lambda: nodes(podctl).get("n2") == "Ready", message="n2 Ready")
    podctl.apply_yaml(pod_on("n2", "bare", "sleep 3600"))
    podctl.apply_yaml(rc_yaml("web", "n2").replace("replicas: 1", "replicas: 2"))

    def web() -> list[Any]:
        return list(json.loads(podctl("get", "pods", "-l", "app=web", "-o", "json"))["items"])

    def running_off_n2() -> int:
        return sum(p["status"].get("phase") == "Running" and p["spec"]["nodeName"] != "n2"
                   and not p["metadata"].get("deletionTimestamp") for p in web())

    podctl.wait_for(lambda: sum(p["status"].get("phase") == "Running" for p in web()) == 2,
                    timeout=60, message="the RC's pods Running")
    assert "n2" in {p["spec"]["nodeName"] for p in web()}  # spread over both nodes
    podctl("node", "stop", "n2")
    podctl.wait_for(lambda: nodes(podctl).get("n2") == "NotReady", timeout=15,
                    message="n2 NotReady")
    podctl.wait_for(lambda: running_off_n2() == 2, timeout=60, message="the RC back to 2")
    assert (pod(podctl, "bare") or {}).get("metadata", {}).get("deletionTimestamp")
    assert [p for p in json.loads(podctl("get", "pods", "-o", "json"))["items"]
            if not p["metadata"]["name"].startswith("web")] == [pod(podctl, "bare")]
    podctl("node", "start", "n2")
    podctl.wait_for(lambda: nodes(podctl).get("n2") == "Ready", timeout=30,
                    message="n2 Ready again")
    podctl.wait_for(lambda: pod(podctl, "bare") is None
                    and all(p["spec"]["nodeName"] != "n2" for p in web()),
                    timeout=60, message="the evicted pods finished on n2")
    podctl.wait_for(lambda: "taints" not in json.loads(
        podctl("get", "node", "n2", "-o", "json"))["spec"], message="n2's taints removed")
    assert running_off_n2() == 2
