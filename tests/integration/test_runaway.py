"""A replica count that can always be taken back: a 100 000-replica ReplicaSet scaled to 0 or
deleted during its scale-up, or its controller stopped with SIGTERM or SIGINT, makes at most
one slow-start batch more and nothing after it; the controller exits within 2 s and the
pods it leaves are reported as they are."""

from __future__ import annotations

import functools
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from podctl.controllers.deletion import delete_owner_background
from podctl.controllers.replication import set_replicas
from podctl.home import home_id, podctl_home
from podctl.notify import notify_controller
from podctl.store import Store, open_store

from .conftest import ControllerProcess, Podctl

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


def poll(predicate: Callable[[], bool], timeout: float,
         message: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            what = message if isinstance(message, str) else message()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def scale_up(podctl: Podctl, at_least: int) -> None:
    """Ask for 100 000 pods; return once the controller has made `at_least`."""
    podctl.apply_yaml(RS)
    poll(lambda: pods_of_big(podctl) >= at_least, 30, f"{at_least} pods of the ReplicaSet")


@pytest.fixture
def writer(podctl: Podctl, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The home's store as `podctl scale` and `podctl delete` write it (the same functions,
    which wake the controller), from this process: the write lands the moment the test
    decides, whatever the load, so the bound is measured from a known count of pods."""
    monkeypatch.setenv("PODCTL_HOME", str(podctl.home))  # the owners' locks live there
    store = open_store(podctl_home(), functools.partial(notify_controller, podctl.home))
    yield store
    store.close()


def assert_one_batch_at_most(before: int, after: int) -> None:
    """Slow-start batches double (1, 2, 4, …): the batch in flight when `before` pods
    existed has at most before + 1 pods, and is the last one."""
    assert after <= before + min(before + 1, 256), (before, after)


def home_containers(podctl: Podctl, client: docker.DockerClient) -> list[Any]:
    """The containers of the home's pods in the default namespace."""
    return list(client.containers.list(all=True, filters={"label": [
        f"io.podctl.home={home_id(podctl.home)}", "io.kubernetes.pod.namespace=default"]}))


def wait_all_gone(podctl: Podctl, client: docker.DockerClient) -> None:
    poll(lambda: pods_of_big(podctl) == 0, 90,
         lambda: f"every pod of the ReplicaSet to go ({pods_of_big(podctl)} left)")
    poll(lambda: not home_containers(podctl, client), 30,
         "every container of the ReplicaSet's pods to go")


def test_100000_replicas_scaled_back_to_0_stop_within_one_batch(
        podctl: Podctl, controller: Start, writer: Store,
        docker_client: docker.DockerClient) -> None:
    controller().wait_log("controller active")
    scale_up(podctl, 1)
    assert set_replicas(writer, "ReplicaSet", "default", "big", 0) == 100000
    before = created_by_big(podctl)
    wait_all_gone(podctl, docker_client)
    # Settled at 0, and all it ever made is within one batch of the count at the scale.
    podctl.wait_for(lambda: podctl("get", "rs", "big", "-o", "jsonpath={.status.replicas}")
                    == "0", message="the ReplicaSet's status to say 0 replicas")
    assert_one_batch_at_most(before, created_by_big(podctl))
    podctl("delete", "rs", "big")


def test_a_replicaset_deleted_during_its_scale_up_stops_creating(
        podctl: Podctl, controller: Start, writer: Store,
        docker_client: docker.DockerClient) -> None:
    controller().wait_log("controller active")
    scale_up(podctl, 1)
    # Background propagation, as `podctl delete rs` and the API's DELETE: the ReplicaSet
    # goes first, then its pods are marked once the sync making them has stopped.
    big = writer.get("ReplicaSet", "default", "big")
    assert big is not None
    deleting = threading.Thread(target=delete_owner_background, args=(writer, big))
    deleting.start()
    # Counted when it is gone, not when the delete returns (it waits for that sync).
    poll(lambda: not big_exists(podctl), 30, "the ReplicaSet to go")
    before = created_by_big(podctl)
    deleting.join(timeout=60)
    assert not deleting.is_alive()
    wait_all_gone(podctl, docker_client)
    assert_one_batch_at_most(before, created_by_big(podctl))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_controller_exits_within_2s_during_a_large_scale_up(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient,
        sig: signal.Signals) -> None:
    running = controller()
    running.wait_log("controller active")
    scale_up(podctl, 5)  # pod workers are inside Docker calls now
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
    # With no controller the CLI takes the count back itself; the next controller finds
    # nothing to do, and nothing of the pods is left.
    podctl("scale", "rs", "big", "--replicas=0")
    controller().wait_log("controller active")
    wait_all_gone(podctl, docker_client)
    podctl("delete", "rs", "big")
    assert created_by_big(podctl) == left


HOST_PORT_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: clash
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: pause
    image: podctl/pause:1.0
    ports:
    - containerPort: 80
      hostPort: {port}
"""


def test_a_sandbox_the_engine_refuses_is_retried_with_back_off(podctl: Podctl,
                                                               controller: Start) -> None:
    """A host port something else on the host holds: the engine refuses every sandbox.
    Each failed sandbox's removal is a Docker event that wakes the pod again; the kubelet
    still waits 1, 2, 4, 8, then 10 s between attempts rather than looping."""
    import socket

    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        controller()
        podctl.apply_yaml(HOST_PORT_POD.format(port=port))

        def attempts() -> int:
            return query(podctl, "SELECT SUM(count) FROM events WHERE object_name='clash' "
                                 "AND reason='FailedCreatePodSandBox'")

        podctl.wait_for(lambda: attempts() >= 3, timeout=30, message="the second retry")
        # The 1 s and 2 s waits came between the first and the third, as the events'
        # times (whole seconds) tell.
        spread = query(podctl, "SELECT CAST(ROUND((julianday(MAX(last_ts)) - "
                               "julianday(MIN(first_ts))) * 86400) AS INTEGER) FROM events "
                               "WHERE object_name='clash' AND reason='FailedCreatePodSandBox'")
        assert spread >= 2
        assert attempts() <= 4
        assert "Running" not in podctl("get", "pod", "clash")
