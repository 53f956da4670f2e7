"""The controller under faults (issue 9): a slow stop delays no other pod, readiness is
truthful after a failover, racing writers lose nothing, half-done deletes are finished."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import pytest

from .conftest import PODCTL, Podctl, containers_of
from .test_controller import Start, app_status

ROOT = Path(__file__).resolve().parents[2]

# An app that ignores SIGTERM, like the book's node.js kubia: stopping it takes the whole
# grace period.
STUBBORN = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: stubborn}}}}
spec:
  terminationGracePeriodSeconds: {grace}
  containers:
  - name: app
    image: podctl/busybox:1
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]
"""


def _pod_uid(podctl: Podctl, name: str, namespace: str = "default") -> str:
    return str(podctl.pod_json(name, namespace)["metadata"]["uid"])


def _running(podctl: Podctl, name: str, namespace: str = "default") -> bool:
    result = podctl.run("get", "pod", name, "-n", namespace, "-o", "json")
    return result.code == 0 and json.loads(result.out)["status"]["phase"] == "Running"


def _gone(podctl: Podctl, *args: str) -> bool:
    result = podctl.run("get", *args)
    return result.code == 1 and "NotFound" in result.err


def test_graceful_stops_of_five_pods_do_not_delay_a_sixth(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    controller()
    stuck = [f"stuck-{i}" for i in range(5)]
    for name in stuck:
        podctl.apply_yaml(STUBBORN.format(name=name, grace=30))
    podctl.apply_yaml(STUBBORN.format(name="victim", grace=30))
    for name in [*stuck, "victim"]:
        podctl.wait_for(lambda name=name: _running(podctl, name), message=f"{name} running")
    for name in stuck:
        uid = _pod_uid(podctl, name)
        sandbox = next(c for c in containers_of(docker_client, uid)
                       if c.labels["io.kubernetes.container.name"] == "POD")
        sandbox.kill()
    # Each of the five now sits in a 30 s graceful stop of its app (SandboxChanged first).
    podctl.wait_for(lambda: podctl("get", "events").count("SandboxChanged") >= 5,
                    message="the five sandboxes to be seen dead")
    uid = _pod_uid(podctl, "victim")
    app = next(c for c in containers_of(docker_client, uid)
               if c.labels["io.kubernetes.container.name"] == "app")
    app.kill()
    # Before per-pod workers this took 30 s: the shared workers all sat in those stops.
    podctl.wait_for(lambda: app_status(podctl, "victim").get("restartCount", 0) == 1
                    and "running" in app_status(podctl, "victim")["state"],
                    timeout=5, message="the victim's container to be replaced")
    for name in stuck:  # the slow stops were really under way all this time
        assert "Terminating" not in podctl("get", "pod", name)
        apps = [c for c in containers_of(docker_client, _pod_uid(podctl, name))
                if c.labels["io.kubernetes.container.name"] == "app"]
        assert any(c.status == "running" for c in apps), name


READY_PROBE = """
apiVersion: v1
kind: Pod
metadata: {name: ready-flip}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: podctl/busybox:1
    command: ["sh", "-c", "touch /tmp/ready; trap 'exit 0' TERM; while true; do sleep 1; done"]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
      failureThreshold: 3
"""


def _ready_column(podctl: Podctl, name: str) -> str:
    return podctl("get", "pod", name, "--no-headers").split()[1]


def test_readiness_is_truthful_after_a_controller_failover(
        podctl: Podctl, controller: Start) -> None:
    first = controller()
    podctl.apply_yaml(READY_PROBE)
    podctl.wait_for(lambda: _ready_column(podctl, "ready-flip") == "1/1", message="ready")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    podctl("exec", "ready-flip", "--", "rm", "/tmp/ready")
    second = controller()
    second.wait_log("controller active")
    # failureThreshold x periodSeconds + 2 s
    podctl.wait_for(lambda: _ready_column(podctl, "ready-flip") == "0/1", timeout=5,
                    message="the pod to be shown not ready")
    podctl("exec", "ready-flip", "--", "touch", "/tmp/ready")
    podctl.wait_for(lambda: _ready_column(podctl, "ready-flip") == "1/1",
                    message="ready again")


PENDING_RC = """
apiVersion: v1
kind: ReplicationController
metadata: {{name: racer}}
spec:
  replicas: 1
  selector: {{app: racer}}
  template:
    metadata: {{labels: {{app: racer}}}}
    spec:
      nodeSelector: {{podctl-test: "{never}"}}
      containers:
      - {{name: app, image: podctl/busybox:1}}
"""


def _rc(podctl: Podctl, name: str) -> dict[str, Any]:
    return dict(json.loads(podctl("get", "rc", name, "-o", "json")))


def _pods(podctl: Podctl, selector: str) -> list[dict[str, Any]]:
    return list(json.loads(podctl("get", "pods", "-l", selector, "-o", "json"))["items"])


def test_a_hundred_scales_from_four_writers_racing_the_controller_lose_nothing(
        podctl: Podctl, controller: Start) -> None:
    """The pods never get a node (no container churn): the race is the store's alone —
    four writers scaling at once against the controller, then a last word."""
    controller()
    podctl.apply_yaml(PENDING_RC.format(never=uuid.uuid4().hex))

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(25):
            assert podctl("scale", "rc", "racer", f"--replicas={rng.randrange(0, 6)}") == \
                "replicationcontroller/racer scaled\n"

    with ThreadPoolExecutor(max_workers=4) as writers:
        for done in [writers.submit(writer, seed) for seed in range(4)]:
            done.result()
    last = 3
    podctl("scale", "rc", "racer", f"--replicas={last}")

    def settled() -> bool:
        rc = _rc(podctl, "racer")
        pods = _pods(podctl, "app=racer")
        return (rc["spec"]["replicas"] == last and len(pods) == last
                and rc.get("status", {}).get("replicas") == last
                and rc["status"].get("observedGeneration") == rc["metadata"]["generation"])

    podctl.wait_for(settled, timeout=30, message=f"{last} replicas")
    assert _rc(podctl, "racer")["spec"]["replicas"] == last


STUBBORN_RC = """
apiVersion: v1
kind: ReplicationController
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  replicas: {replicas}
  selector: {{app: {name}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 6
      containers:
      - name: app
        image: podctl/busybox:1
        command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]
"""


def _kill_midway(podctl: Podctl, args: list[str], marked: Any) -> None:
    """Start a podctl command, SIGKILL it once `marked()` says it got half-way."""
    proc = subprocess.Popen([PODCTL, *args], env=podctl.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        podctl.wait_for(marked, timeout=20, message=f"{args} to get under way")
        assert proc.poll() is None, "the command finished before it could be interrupted"
    finally:
        proc.kill()
        proc.wait()


def _no_containers_left(docker_client: docker.DockerClient, uids: list[str]) -> bool:
    return not any(containers_of(docker_client, uid) for uid in uids)


def test_controller_finishes_an_interrupted_foreground_delete(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    podctl.apply_yaml(STUBBORN_RC.format(name="fg", namespace="default", replicas=3))
    podctl.wait_for(lambda: sum(p["status"]["phase"] == "Running"
                                for p in _pods(podctl, "app=fg")) == 3, message="3 running")
    uids = [p["metadata"]["uid"] for p in _pods(podctl, "app=fg")]
    _kill_midway(podctl, ["delete", "rc", "fg", "--cascade=foreground"],
                 lambda: bool(_rc(podctl, "fg")["metadata"].get("deletionTimestamp"))
                 and all(p["metadata"].get("deletionTimestamp")
                         for p in _pods(podctl, "app=fg")))
    assert _rc(podctl, "fg")["metadata"]["finalizers"] == ["foregroundDeletion"]
    controller()
    podctl.wait_for(lambda: _gone(podctl, "rc", "fg") and not _pods(podctl, "app=fg"),
                    timeout=30, message="the RC and its pods to be gone")
    podctl.wait_for(lambda: _no_containers_left(docker_client, uids), timeout=10,
                    message="the containers to be gone")


def test_controller_finishes_an_interrupted_namespace_delete(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    podctl("create", "namespace", "doomed")
    podctl.apply_yaml(STUBBORN_RC.format(name="web", namespace="doomed", replicas=2))
    podctl.apply_yaml(STUBBORN.format(name="bare", grace=6), "-n", "doomed")

    def phases() -> list[str]:
        items = json.loads(podctl("get", "pods", "-n", "doomed", "-o", "json"))["items"]
        return [p["status"]["phase"] for p in items]

    podctl.wait_for(lambda: phases() == ["Running"] * 3, message="3 pods running")
    items = json.loads(podctl("get", "pods", "-n", "doomed", "-o", "json"))["items"]
    uids = [p["metadata"]["uid"] for p in items]

    def terminating() -> bool:
        ns = json.loads(podctl("get", "ns", "doomed", "-o", "json"))
        return bool(ns["status"].get("phase") == "Terminating")

    _kill_midway(podctl, ["delete", "namespace", "doomed"], terminating)
    result = podctl.run("run", "late", "--image=podctl/busybox:1", "-n", "doomed")
    assert result.code == 1
    assert result.err.strip() == (
        'Error from server (Forbidden): pods "late" is forbidden: unable to create new '
        "content in namespace doomed because it is being terminated")
    controller()
    podctl.wait_for(lambda: _gone(podctl, "ns", "doomed"), timeout=30,
                    message="the namespace to be gone")
    podctl.wait_for(lambda: _no_containers_left(docker_client, uids), timeout=10,
                    message="the containers to be gone")


def test_background_delete_leaves_no_orphan_when_interrupted(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    """The garbage collector's half: pods whose owner is gone are deleted."""
    controller()
    podctl.apply_yaml(STUBBORN_RC.format(name="bg", namespace="default", replicas=2))
    podctl.wait_for(lambda: sum(p["status"]["phase"] == "Running"
                                for p in _pods(podctl, "app=bg")) == 2, message="2 running")
    uids = [p["metadata"]["uid"] for p in _pods(podctl, "app=bg")]
    _kill_midway(podctl, ["delete", "rc", "bg"], lambda: _gone(podctl, "rc", "bg"))
    podctl.wait_for(lambda: not _pods(podctl, "app=bg"), timeout=30,
                    message="the pods to be gone")
    podctl.wait_for(lambda: _no_containers_left(docker_client, uids), timeout=10,
                    message="the containers to be gone")


def test_deleted_pod_is_finished_when_the_command_dies(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    podctl.apply_yaml(STUBBORN.format(name="half", grace=6))
    podctl.wait_for(lambda: _running(podctl, "half"), message="running")
    uid = _pod_uid(podctl, "half")
    _kill_midway(podctl, ["delete", "pod", "half"],
                 lambda: "Terminating" in podctl("get", "pod", "half"))
    controller()
    podctl.wait_for(lambda: _gone(podctl, "pod", "half"), timeout=30,
                    message="the pod to be gone")
    podctl.wait_for(lambda: _no_containers_left(docker_client, [uid]), timeout=10,
                    message="the containers to be gone")


ENGINE_RC = """
apiVersion: v1
kind: ReplicationController
metadata: {name: survivor}
spec:
  replicas: 2
  selector: {app: survivor}
  template:
    metadata: {labels: {app: survivor}}
    spec:
      containers:
      - {name: kubia, image: podctl/kubia:1}
"""


def _restart_dockerd() -> None:
    """Stop the engine (every container dies with it) and start it with the project's script."""
    # Node containers run dockerd too, in PID namespaces of their own: the engine is the
    # one in ours.
    ours = os.readlink("/proc/self/ns/pid")
    pids = [pid for pid in subprocess.run(["pidof", "dockerd"], capture_output=True,
                                          text=True).stdout.split()
            if _pid_namespace(pid) == ours]
    assert len(pids) == 1, f"expected one dockerd, found {pids}"
    pid = int(pids[0])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists(), "dockerd did not stop"
    subprocess.run(["bash", str(ROOT / "scripts" / "ensure-docker.sh")], check=True,
                   timeout=120)


def _pid_namespace(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def can_restart_dockerd() -> bool:
    return os.geteuid() == 0 and shutil.which("pidof") is not None


@pytest.mark.serial
def test_everything_comes_back_after_a_dockerd_restart(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    if not can_restart_dockerd():
        pytest.skip("restarting the engine needs root and pidof")
    controller()
    podctl("create", "-f", str(ROOT / "manifests" / "kubia-manual.yaml"))
    podctl.apply_yaml(ENGINE_RC)

    def all_ready() -> bool:
        items = json.loads(podctl("get", "pods", "-o", "json"))["items"]
        return len(items) == 3 and all(
            c.get("ready") for p in items for c in p["status"].get("containerStatuses") or [])

    podctl.wait_for(all_ready, timeout=30, message="3 ready pods")
    uids = podctl.pod_uids()
    _restart_dockerd()
    podctl.wait_for(all_ready, timeout=10, message="every pod back after the restart")
    row = podctl("get", "rc", "survivor", "--no-headers").split()
    assert row[1:4] == ["2", "2", "2"]
    for uid in uids:  # one sandbox and one app each: nothing started twice
        running = [c.labels["io.kubernetes.container.name"]
                   for c in containers_of(docker_client, uid) if c.status == "running"]
        assert sorted(running) == ["POD", "kubia"], (uid, running)
