"""A replica count that can always be taken back: a 100 000-replica ReplicaSet scaled to 0 or
deleted during its scale-up, or its controller stopped with SIGTERM or SIGINT, makes at most
one slow-start batch more and nothing after it; the controller exits within 2 s and the
pods it leaves are reported as they are."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from typing import Any

import docker
import pytest

from .conftest import PODCTL, ControllerProcess, Podctl

Start = Callable[[], ControllerProcess]

RS = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: big
spec:
  replicas: 100000
  selector:
    matchLabels: {app: big}
  template:
    metadata:
      labels: {app: big}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: pause
        image: podctl/pause:1.0
"""


def query(podctl: Podctl, sql: str) -> int:
    with sqlite3.connect(podctl.home / "store.db", timeout=30) as db:
        return int(db.execute(sql).fetchone()[0] or 0)


def pods_of_big(podctl: Podctl) -> int:
    return query(podctl, "SELECT COUNT(*) FROM objects WHERE kind='Pod' AND "
                         "json_extract(data, '$.metadata.ownerReferences[0].name')='big'")


def created_by_big(podctl: Podctl) -> int:
    """Pods the ReplicaSet ever made: its SuccessfulCreate events (they outlive it)."""
    return query(podctl, "SELECT SUM(count) FROM events WHERE object_kind='ReplicaSet' AND "
                         "object_name='big' AND reason='SuccessfulCreate'")


def big_exists(podctl: Podctl) -> bool:
    return bool(query(podctl, "SELECT COUNT(*) FROM objects WHERE kind='ReplicaSet' "
                              "AND name='big'"))


def poll(predicate: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.02)


def scale_up(podctl: Podctl, controller: Start, at_least: int) -> ControllerProcess:
    """A controller making the 100 000 pods, once it has made `at_least`."""
    running = controller()
    running.wait_log("controller active")
    podctl.apply_yaml(RS)
    poll(lambda: pods_of_big(podctl) >= at_least, 30, f"{at_least} pods of the ReplicaSet")
    return running


def assert_one_batch_at_most(before: int, after: int) -> None:
    """Slow-start batches double (1, 2, 4, …): the batch in flight when `before` pods
    existed has at most before + 1 pods, and is the last one."""
    assert after <= before + min(before + 1, 256), (before, after)


def home_containers(podctl: Podctl, client: docker.DockerClient) -> list[Any]:
    from podctl.home import home_id

    return list(client.containers.list(
        all=True, filters={"label": f"io.podctl.home={home_id(podctl.home)}"}))


def wait_all_gone(podctl: Podctl, client: docker.DockerClient) -> None:
    poll(lambda: pods_of_big(podctl) == 0, 90, "every pod of the ReplicaSet to go")
    poll(lambda: not [c for c in home_containers(podctl, client)
                      if c.labels.get("io.kubernetes.pod.namespace") == "default"],
         30, "every container of the ReplicaSet's pods to go")


def test_100000_replicas_scaled_back_to_0_stop_within_one_batch(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    scale_up(podctl, controller, 1)
    podctl("scale", "rs", "big", "--replicas=0")
    before = created_by_big(podctl)
    wait_all_gone(podctl, docker_client)
    assert_one_batch_at_most(before, created_by_big(podctl))
    rs = podctl("get", "rs", "big", "-o", "jsonpath={.status.replicas}")
    assert rs == "0"
    podctl("delete", "rs", "big")


def test_a_replicaset_deleted_during_its_scale_up_stops_creating(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    scale_up(podctl, controller, 1)
    deleting = subprocess.Popen([PODCTL, "delete", "rs", "big"], env=podctl.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # When it is gone from the store, not when the command ends (after its pods).
        poll(lambda: not big_exists(podctl), 30, "the ReplicaSet to be deleted")
        before = created_by_big(podctl)
        out, _ = deleting.communicate(timeout=90)
    finally:
        deleting.kill()
    assert deleting.returncode == 0 and 'replicaset.apps "big" deleted' in out, out
    wait_all_gone(podctl, docker_client)
    assert_one_batch_at_most(before, created_by_big(podctl))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_controller_exits_within_2s_during_a_large_scale_up(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient,
        sig: signal.Signals) -> None:
    running = scale_up(podctl, controller, 20)  # pod workers are inside Docker calls now
    sent = time.monotonic()
    running.proc.send_signal(sig)
    running.proc.wait(timeout=10)
    took = time.monotonic() - sent
    assert took < 2.0, f"the controller took {took:.2f}s to exit"
    assert running.proc.returncode == 0
    # Nothing is made once it is gone, and every pod it made is one it reported making.
    left = pods_of_big(podctl)
    assert left == created_by_big(podctl)
    # Pods are reported as the engine has them: no Running pod without its running
    # container, and no container of a pod the store does not know.
    pods = podctl.run("get", "pods", "-o", "json")
    assert pods.code == 0, str(pods)
    items = json.loads(pods.out)["items"]
    assert len(items) == left
    containers = home_containers(podctl, docker_client)
    uids = {p["metadata"]["uid"] for p in items}
    assert {c.labels["io.kubernetes.pod.uid"] for c in containers} <= uids
    for pod in items:
        if pod["status"].get("phase") == "Running":
            mine = [c for c in containers
                    if c.labels["io.kubernetes.pod.uid"] == pod["metadata"]["uid"]]
            assert len(mine) == 2 and all(c.status == "running" for c in mine), mine
    # The next controller takes the count back; nothing of the pods is left.
    controller().wait_log("controller active")
    podctl("scale", "rs", "big", "--replicas=0")
    wait_all_gone(podctl, docker_client)
    podctl("delete", "rs", "big")
