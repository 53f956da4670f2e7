"""Nodes as containers running their own Docker engine: `podctl node add|stop|start|delete|
load-image`, pods on a node container run by its kubelet, logs/exec/cp reaching them, and
images of the host's engine copied into a node on demand."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.integration.conftest import BUSYBOX_IMAGE, KUBIA_IMAGE, Podctl

NODE_IMAGE = "podctl/node:1"


@pytest.fixture(autouse=True)
def node_image(docker_client: docker.DockerClient) -> None:
    try:
        docker_client.images.get(NODE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {NODE_IMAGE} is missing: run `make images`")


def node_engine(podctl: Podctl, name: str) -> docker.DockerClient:
    from podctl.runtime import engines

    return docker.DockerClient(base_url=f"unix://{engines.node_engine(podctl.homeid, name).socket}")


@pytest.fixture
def engines_of(podctl: Podctl) -> Iterator[Any]:
    """Docker clients of the test's node engines, closed at the end."""
    clients: list[docker.DockerClient] = []

    def open_client(name: str) -> docker.DockerClient:
        client = node_engine(podctl, name)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


def nodes(podctl: Podctl) -> dict[str, str]:
    """NAME -> STATUS of `get nodes`."""
    rows = podctl("get", "nodes").splitlines()[1:]
    return {row.split()[0]: row.split()[1] for row in rows}


def node_container(docker_client: docker.DockerClient, podctl: Podctl, name: str) -> Any:
    from podctl.runtime.nodecontainers import container_name

    return docker_client.containers.get(container_name(podctl.homeid, name))


def pod_on(node: str, name: str, command: str, image: str = BUSYBOX_IMAGE) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [
            {"name": "c", "image": image, "command": ["sh", "-c", command]}]}})


def phase(podctl: Podctl, name: str) -> str:
    return str((podctl.pod_json(name).get("status") or {}).get("phase"))


def test_node_add_runs_pods_with_logs_exec_cp_and_copies_images(
        podctl: Podctl, controller: Any, engines_of: Any, docker_client: docker.DockerClient,
        tmp_path: Path) -> None:
    controller()
    started = time.monotonic()
    out = podctl("node", "add", "n2", "--label", "tier=back",
                 "--taint", "dedicated=infra:NoSchedule")
    assert out == "node/n2 created\n"
    podctl.wait_for(lambda: nodes(podctl).get("n2") == "Ready", timeout=30,
                    message="n2 Ready")
    print(f"node add -> Ready: {time.monotonic() - started:.2f}s")
    assert len(nodes(podctl)) == 2  # the host's node stays, first

    node = json.loads(podctl("get", "node", "n2", "-o", "json"))
    assert node["metadata"]["labels"]["tier"] == "back"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "n2"
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "infra",
                                       "effect": "NoSchedule"}]
    address = next(a["address"] for a in node["status"]["addresses"]
                   if a["type"] == "InternalIP")
    assert address == node_container(docker_client, podctl, "n2").attrs[
        "NetworkSettings"]["Networks"]["podctl"]["IPAddress"]

    n2 = engines_of("n2")
    assert not n2.images.list(name=BUSYBOX_IMAGE)  # a new node has no images of its own
    podctl.apply_yaml(pod_on("n2", "p", "echo hello from $(hostname); sleep 3600"))
    podctl.wait_for(lambda: phase(podctl, "p") == "Running", message="p Running")
    pod = podctl.pod_json("p")
    assert pod["spec"]["nodeName"] == "n2"
    assert pod["status"]["hostIP"] == address
    uid = pod["metadata"]["uid"]
    # Its containers are the node's engine's, none is the host's.
    label = f"io.kubernetes.pod.uid={uid}"
    assert len(n2.containers.list(filters={"label": label})) == 2  # sandbox + app
    assert not docker_client.containers.list(all=True, filters={"label": label})
    assert n2.images.list(name=BUSYBOX_IMAGE)  # copied from the host's engine on demand

    podctl.wait_for(lambda: "hello from p" in podctl("logs", "p"), message="logs")
    assert podctl("exec", "p", "--", "hostname") == "p\n"
    local = tmp_path / "in.txt"
    local.write_text("to the node\n")
    podctl("cp", str(local), "p:/tmp/in.txt")
    assert podctl("exec", "p", "--", "cat", "/tmp/in.txt") == "to the node\n"
    podctl("cp", "p:/tmp/in.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "to the node\n"


def test_node_stop_is_a_crash_start_restarts_pods_delete_removes_all(
        podctl: Podctl, controller: Any, docker_client: docker.DockerClient) -> None:
    from podctl.runtime import engines

    # A short grace period: a crashed node is NotReady once its kubelet is silent that long.
    controller("--node-monitor-grace-period=3s", "--node-monitor-period=1s")
    podctl("node", "add", "n2")
    podctl.apply_yaml(pod_on("n2", "p", "sleep 3600"))
    podctl.wait_for(lambda: phase(podctl, "p") == "Running", message="p Running")
    first = podctl.pod_json("p")["status"]["containerStatuses"][0]["containerID"]

    assert podctl("node", "stop", "n2") == "node/n2 stopped\n"
    node = node_container(docker_client, podctl, "n2")
    assert node.attrs["State"]["Running"] is False
    podctl.wait_for(lambda: nodes(podctl)["n2"] == "NotReady", timeout=15,
                    message="n2 NotReady once its kubelet is silent past the grace period")
    # A crash, not a drain: the pod object is left as it was, not being deleted.
    assert not podctl.pod_json("p")["metadata"].get("deletionTimestamp")
    assert podctl("node", "stop", "n2") == "node/n2 stopped\n"  # stopped already: fine

    assert podctl("node", "start", "n2") == "node/n2 started\n"
    podctl.wait_for(lambda: nodes(podctl)["n2"] == "Ready", timeout=15,
                    message="n2 Ready at its kubelet's next heartbeat")
    # Its InternalIP is the address its container has now (Docker may give another).
    node.reload()
    registered = json.loads(podctl("get", "node", "n2", "-o", "json"))["status"]["addresses"]
    assert {"type": "InternalIP", "address": node.attrs["NetworkSettings"]["Networks"][
        "podctl"]["IPAddress"]} in registered

    def restarted() -> bool:
        status = podctl.pod_json("p")["status"]
        cs = (status.get("containerStatuses") or [{}])[0]
        return status.get("phase") == "Running" and bool(cs.get("containerID")) and \
            cs["containerID"] != first and "running" in cs.get("state", {})

    podctl.wait_for(restarted, timeout=30, message="p running again on n2")

    volume = node.attrs["Mounts"]
    assert any(m.get("Destination") == "/var/lib/docker" for m in volume)
    assert podctl("node", "delete", "n2") == 'node "n2" deleted\n'
    assert "n2" not in nodes(podctl)
    assert podctl.run("get", "pod", "p").code != 0  # its pods went with it
    with pytest.raises(docker.errors.NotFound):
        node_container(docker_client, podctl, "n2")
    assert not docker_client.volumes.list(filters={"label": f"io.podctl.home={podctl.homeid}"})
    assert not engines.socket_dir(podctl.homeid, "n2").exists()


def test_node_refusals(podctl: Podctl) -> None:
    podctl("node", "add", "n2")
    host = next(name for name in nodes(podctl) if name != "n2")
    again = podctl.run("node", "add", "n2")
    assert again.code == 1
    assert again.err == 'Error from server (AlreadyExists): nodes "n2" already exists\n'
    missing = podctl.run("node", "stop", "nope")
    assert missing.err == 'Error from server (NotFound): nodes "nope" not found\n'
    first = podctl.run("node", "delete", host)
    assert first.code == 1 and "the first node" in first.err
    bad = podctl.run("node", "add", "Bad_Name")
    assert bad.code == 1 and bad.err.startswith('The Node "Bad_Name" is invalid')
    taint = podctl.run("node", "add", "n3", "--taint", "k=v:Sometimes")
    assert taint.code == 1 and "invalid taint effect" in taint.err
    assert set(nodes(podctl)) == {host, "n2"}  # nothing half made
    # A pod for a node that is down waits for it, with one warning; the node's start (with
    # no controller, its one pass) runs it.
    podctl("node", "stop", "n2")
    path = podctl.tmp / "late.json"
    path.write_text(pod_on("n2", "late", "sleep 3600"))
    late = podctl.run("create", "-f", str(path))
    assert (late.code, late.out) == (0, "pod/late created\n"), str(late)
    assert late.err == ("Warning: node n2 does not answer: the change is stored and its "
                        "pods stay Pending until it is back and a controller runs "
                        "(`podctl run-controller --detach`)\n")
    assert phase(podctl, "late") == "Pending"
    podctl("node", "start", "n2")
    assert phase(podctl, "late") == "Running"
    # A node container whose Node was deleted through the API: node delete still removes it.
    podctl("delete", "node", "n2")
    assert podctl("node", "delete", "n2") == 'node "n2" deleted\n'
    assert podctl.run("node", "delete", "n2").err == \
        'Error from server (NotFound): nodes "n2" not found\n'


def test_load_image_copies_into_every_node(podctl: Podctl, engines_of: Any) -> None:
    podctl("node", "add", "n2")
    podctl("node", "add", "n3")
    out = podctl("node", "load-image", KUBIA_IMAGE)
    assert out.count("not yet present on node") == 2
    for name in ("n2", "n3"):
        assert engines_of(name).images.list(name=KUBIA_IMAGE)
    again = podctl("node", "load-image", KUBIA_IMAGE, "--nodes", "n3")
    assert again.count("already present on node \"n3\"") == 1
    # With no controller: create's one pass starts it on n3, and `get` refreshes its
    # status from n3's engine (the host's has no container of it).
    podctl.apply_yaml(pod_on("n3", "web", "exec /app/kubia", image=KUBIA_IMAGE))
    podctl.wait_for(lambda: phase(podctl, "web") == "Running", message="web Running")
    row = podctl("get", "pod", "web", "--no-headers").split()
    assert row[1:3] == ["1/1", "Running"]
    podctl("node", "stop", "n3")
    down = podctl.run("node", "load-image", BUSYBOX_IMAGE, "--nodes", "n3")
    assert down.code == 1 and down.err.startswith('error: node "n3" does not answer ('), \
        str(down)
    missing = podctl.run("node", "load-image", "podctl/nothing:9")
    assert missing.code == 1
    assert missing.err == 'error: image "podctl/nothing:9" not present on the host\'s ' \
                          "Docker engine\n"


def test_kubectl_logs_exec_and_port_forward_reach_a_pod_on_a_node(podctl: Podctl) -> None:
    """The API's pods/log, pods/exec and pods/portforward (run-controller --api) on a node
    container's pod."""
    from tests.integration.test_api_kubectl import ApiController
    from tests.integration.test_api_portforward import KubectlForward

    podctl("node", "add", "n2")
    kubectl = ApiController(podctl)
    try:
        podctl.apply_yaml(pod_on("n2", "p", "echo from the node; mkdir /w && echo hi > /w/i "
                                 "&& httpd -p 8080 -h /w; sleep 3600"))
        kubectl("wait", "--for=condition=Ready", "pod/p", "--timeout=60s")
        assert kubectl("get", "pod", "p", "-o", "jsonpath={.spec.nodeName}") == "n2"
        podctl.wait_for(lambda: kubectl("logs", "p") == "from the node\n", message="logs")
        result = kubectl.run("exec", "p", "--", "sh", "-c", "hostname; exit 3")
        assert (result.code, result.out) == (3, "p\n"), str(result)
        assert kubectl("exec", "-i", "p", "--", "cat", input="in\n") == "in\n"
        # The host's route to n2's pods comes from the pod network's agent: once it is
        # there (kubectl gives up at the first connection that fails), the forward reaches
        # the pod.
        ip = kubectl("get", "pod", "p", "-o", "jsonpath={.status.podIP}")
        podctl.wait_for(lambda: _get_or_none(f"http://{ip}:8080/i") == "hi\n", timeout=60,
                        message="a route to n2's pods")
        forward = KubectlForward(kubectl, "p", ":8080")
        try:
            assert _get_or_none(f"http://127.0.0.1:{forward.port()}/i") == "hi\n", forward.err
        finally:
            forward.kill()
    finally:
        kubectl.stop()


def _get_or_none(url: str) -> str | None:
    from tests.integration.conftest import http_get

    try:
        return http_get(url, timeout=10)
    except OSError:
        return None


def test_pods_deleted_while_their_node_is_down(podctl: Podctl, controller: Any,
                                               engines_of: Any) -> None:
    """A graceful delete waits for the node's kubelet (the pod stays Terminating until the
    node is back); a force delete removes the object at once, and the node's kubelet
    removes the containers when the node is back."""
    controller()
    podctl("node", "add", "n2")
    for name in ("graceful", "forced"):
        podctl.apply_yaml(pod_on("n2", name, "sleep 3600"))
    podctl.wait_for(lambda: phase(podctl, "graceful") == "Running" == phase(podctl, "forced"),
                    message="both Running")
    uids = {name: podctl.pod_json(name)["metadata"]["uid"] for name in ("graceful", "forced")}
    podctl("node", "stop", "n2")

    forced = podctl.run("delete", "pod", "forced", "--force", "--grace-period=0")
    assert forced.code == 0 and forced.out == 'pod "forced" force deleted\n', str(forced)
    assert podctl("delete", "pod", "graceful") == 'pod "graceful" deleted\n'
    assert podctl.pod_json("graceful")["metadata"].get("deletionTimestamp")
    time.sleep(2)  # longer than its grace period (1 s): still there, its node is down
    assert podctl.run("get", "pod", "graceful").code == 0

    podctl("node", "start", "n2")
    podctl.wait_for(lambda: podctl.run("get", "pod", "graceful").code != 0, timeout=30,
                    message="the graceful delete finished by n2's kubelet")
    n2 = engines_of("n2")

    def containers_left() -> list[Any]:
        return [c for uid in uids.values() for c in n2.containers.list(
            all=True, filters={"label": f"io.kubernetes.pod.uid={uid}"})]

    podctl.wait_for(lambda: not containers_left(), timeout=30,
                    message="n2's kubelet removed the containers of both pods")


def test_a_new_controller_runs_the_node_kubelets(podctl: Podctl, controller: Any) -> None:
    """kill -9 of the controller: pods on a node keep running, and the next controller
    follows them (a crash there is restarted)."""
    first = controller()
    podctl("node", "add", "n2")
    podctl.apply_yaml(pod_on("n2", "p", "until [ -f /tmp/stop ]; do sleep 0.1; done; exit 1"))
    podctl.wait_for(lambda: phase(podctl, "p") == "Running", message="p Running")
    first.kill()
    podctl("exec", "p", "--", "touch", "/tmp/stop")  # the container ends, no controller
    second = controller()
    second.wait_log("controller active")

    def restarted() -> bool:
        status = podctl.pod_json("p")["status"]
        cs = (status.get("containerStatuses") or [{}])[0]
        return int(cs.get("restartCount") or 0) >= 1 and "running" in cs.get("state", {})

    podctl.wait_for(restarted, timeout=30, message="p restarted by the new controller")


def test_interrupted_and_concurrent_adds(podctl: Podctl, docker_client: docker.DockerClient,
                                         engines_of: Any) -> None:
    """Two adds of one name at once: one node, one error; an add killed half-way leaves a
    container that the next add of the name replaces."""
    import subprocess

    from tests.integration.conftest import PODCTL

    podctl("get", "nodes")  # the host's node first
    runs = [subprocess.Popen([PODCTL, "node", "add", "twin"], env=podctl.env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)]
    results = sorted((proc.wait(timeout=60), proc.stdout.read(), proc.stderr.read())
                     for proc in runs if proc.stdout and proc.stderr)
    assert results[0] == (0, "node/twin created\n", "")
    assert results[1] == (1, "", 'Error from server (AlreadyExists): nodes "twin" already '
                                 "exists\n")
    assert nodes(podctl)["twin"] == "Ready"
    assert engines_of("twin").ping()

    mine = {"label": [f"io.podctl.home={podctl.homeid}", "io.podctl.node=half"]}
    half = subprocess.Popen([PODCTL, "node", "add", "half"], env=podctl.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    podctl.wait_for(lambda: bool(docker_client.containers.list(all=True, filters=mine)),
                    message="half's container")
    half.kill()
    half.wait()
    if "half" not in nodes(podctl):  # killed before it registered: its container is left
        assert podctl("node", "add", "half") == "node/half created\n"
    assert nodes(podctl)["half"] == "Ready"
    assert len(docker_client.containers.list(all=True, filters=mine)) == 1


RC_AND_DS = """apiVersion: v1
kind: ReplicationController
metadata: {name: web}
spec:
  replicas: 3
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: podctl/busybox:1, command: [sleep, "3600"]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: podctl/busybox:1, command: [sleep, "3600"]}]
"""


def running_by_node(podctl: Podctl, app: str) -> dict[str, int]:
    pods = json.loads(podctl("get", "pods", "-l", f"app={app}", "-o", "json"))["items"]
    counts: dict[str, int] = {}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") == "Running" and \
                not pod["metadata"].get("deletionTimestamp"):
            node = pod["spec"]["nodeName"]
            counts[node] = counts.get(node, 0) + 1
    return counts


def test_daemonset_follows_nodes_and_a_deleted_node_pods_are_replaced(
        podctl: Podctl, controller: Any) -> None:
    controller()
    podctl("node", "add", "n2")
    podctl.apply_yaml(RC_AND_DS)
    host = next(name for name in nodes(podctl) if name != "n2")
    podctl.wait_for(lambda: running_by_node(podctl, "agent") == {host: 1, "n2": 1},
                    timeout=60, message="one agent per node")
    podctl("node", "add", "n3")
    podctl.wait_for(lambda: running_by_node(podctl, "agent") == {host: 1, "n2": 1, "n3": 1},
                    timeout=60, message="an agent on the new node")
    # The scheduler spreads one owner's pods: some of the RC's are on the added nodes.
    podctl.wait_for(lambda: sum(running_by_node(podctl, "web").values()) == 3, timeout=60,
                    message="the RC's 3 pods Running")
    podctl("node", "delete", "n3")
    podctl.wait_for(lambda: running_by_node(podctl, "agent") == {host: 1, "n2": 1},
                    timeout=60, message="the agent gone with its node")

    def replaced() -> bool:
        counts = running_by_node(podctl, "web")
        return sum(counts.values()) == 3 and "n3" not in counts

    podctl.wait_for(replaced, timeout=60, message="the RC back to 3 on the other nodes")


def test_host_network_and_host_ports_are_the_node_container_s(podctl: Podctl) -> None:
    """A node's own network is its container's: a hostNetwork pod there has the node's IP
    and serves on it; a hostPort is published on the node's address."""
    from tests.integration.conftest import answers, http_get

    podctl("node", "add", "n2")
    address = podctl("get", "node", "n2", "-o",
                     "jsonpath={.status.addresses[?(@.type=='InternalIP')].address}")
    podctl.apply_yaml(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hn"},
                                  "spec": {"nodeName": "n2", "hostNetwork": True, "containers": [
                                      {"name": "web", "image": KUBIA_IMAGE,
                                       "env": [{"name": "PORT", "value": "8089"}]}]}}))
    podctl.apply_yaml(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hp"},
                                  "spec": {"nodeName": "n2", "containers": [
                                      {"name": "web", "image": KUBIA_IMAGE, "ports": [
                                          {"containerPort": 8080, "hostPort": 18080}]}]}}))
    podctl.wait_for(lambda: phase(podctl, "hn") == "Running" == phase(podctl, "hp"),
                    message="both Running")
    assert podctl.pod_json("hn")["status"]["podIP"] == address
    podctl.wait_for(lambda: answers(f"http://{address}:8089/"), message="hn serving")
    assert http_get(f"http://{address}:8089/") == "You've hit n2\n"
    podctl.wait_for(lambda: answers(f"http://{address}:18080/"), message="hp's hostPort")
    assert http_get(f"http://{address}:18080/") == "You've hit hp\n"


def test_labels_and_taints_of_node_add_steer_the_scheduler(podctl: Podctl,
                                                           controller: Any) -> None:
    controller()
    podctl("node", "add", "n2", "--label", "tier=back", "--taint",
           "dedicated=infra:NoSchedule")

    def pod(name: str, tolerate: bool) -> str:
        tolerations = [{"key": "dedicated", "operator": "Equal", "value": "infra",
                        "effect": "NoSchedule"}] if tolerate else []
        return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                           "spec": {"nodeSelector": {"tier": "back"},
                                    "tolerations": tolerations, "containers": [
                                        {"name": "c", "image": BUSYBOX_IMAGE,
                                         "command": ["sleep", "3600"]}]}})

    podctl.apply_yaml(pod("tolerant", True))
    podctl.apply_yaml(pod("intolerant", False))
    podctl.wait_for(lambda: phase(podctl, "tolerant") == "Running", message="tolerant")
    assert podctl.pod_json("tolerant")["spec"]["nodeName"] == "n2"
    stuck = podctl.pod_json("intolerant")
    assert stuck["status"]["phase"] == "Pending" and not stuck["spec"].get("nodeName")
    assert "1 node(s) had untolerated taint(s)" in podctl(
        "describe", "pod", "intolerant")


def test_probes_and_port_forward_reach_a_pod_on_a_node(podctl: Podctl,
                                                       controller: Any) -> None:
    """HTTP probes are dialled from the host to the pod's IP on its node (the flat pod
    network routes it), and port-forward reaches it the same way."""
    from tests.integration.test_portforward import Forward

    controller()
    podctl("node", "add", "n2")
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
    podctl.apply_yaml(json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"nodeName": "n2", "terminationGracePeriodSeconds": 1, "containers": [
            {"name": "web", "image": KUBIA_IMAGE, "readinessProbe": probe,
             "livenessProbe": probe}]}}))

    def ready() -> bool:
        conditions = podctl.pod_json("web")["status"].get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    podctl.wait_for(ready, timeout=30, message="web Ready by its readiness probe")
    forward = Forward(podctl, "web", ":8080")
    try:
        assert forward.get() == "You've hit web\n"
    finally:
        forward.kill()
    status = podctl.pod_json("web")["status"]
    assert status["containerStatuses"][0]["restartCount"] == 0  # liveness passed all along
