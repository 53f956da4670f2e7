"""Issue 21 benchmark: node failure, the controller's share. A node whose kubelet (run from
this process with podctl's own Heartbeat, as a node with no engine) goes silent: the time
until it is NotReady, until its ReplicationController's pod is evicted, and until the
replacement runs on the host's node, with grace 10 s and toleration 5 s (the issue's goal:
replacement Running within grace + toleration + 2 s). Its baseline is that sum: what
upstream's controllers wait by design. The monitor period is 1 s (upstream's default is
5 s, which alone may add 5 s to the detection)."""

from __future__ import annotations

import functools
import json
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker

from bench.common import PODCTL, print_results, remove_home, run, scratch_env

GRACE, TOLERATION = 10, 5
FACTS = {"addresses": [{"type": "InternalIP", "address": "192.0.2.10"}],
         "capacity": {"cpu": "2", "memory": "1024Ki", "pods": "110"},
         "allocatable": {"cpu": "2", "memory": "1024Ki", "pods": "110"}}
RC = """
apiVersion: v1
kind: ReplicationController
metadata: {name: web}
spec:
  replicas: 1
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: podctl/busybox:1, command: [sleep, "3600"]}]
"""


def get(env: dict[str, str], *args: str) -> Any:
    out = subprocess.run([PODCTL, "get", *args, "-o", "json"], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def wait(check: Any, timeout: float = 120) -> float:
    """Seconds until `check()` holds (polled every 50 ms)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise RuntimeError("timed out")
        time.sleep(0.05)
    return time.monotonic() - started


def status(env: dict[str, str], node: str) -> str:
    conditions = (get(env, "node", node).get("status") or {}).get("conditions") or []
    return next((c["status"] for c in conditions if c["type"] == "Ready"), "")


def main() -> None:
    from podctl import registry
    from podctl.api import meta
    from podctl.kubelet.heartbeat import Heartbeat
    from podctl.notify import notify_controller
    from podctl.store import open_store

    env = scratch_env()
    home = Path(env["PODCTL_HOME"])
    client = docker.from_env()
    log = home / "controller.log"
    with open(log, "wb") as out:
        controller = subprocess.Popen(
            [PODCTL, "run-controller", f"--node-monitor-grace-period={GRACE}s",
             "--node-monitor-period=1s", f"--default-unreachable-toleration-seconds={TOLERATION}"],
            env=env, stdout=subprocess.DEVNULL, stderr=out)
    try:
        wait(lambda: "controller active" in log.read_text(), timeout=20)
        wait(lambda: bool(get(env, "nodes")["items"]), timeout=20)
        store = open_store(home, functools.partial(notify_controller, home))
        registry.create(store, {"apiVersion": "v1", "kind": "Node",
                                "metadata": {"name": "fake"}, "spec": {}})
        kubelet = Heartbeat(store, "fake", lambda: FACTS, renew_interval=GRACE / 4,
                            on_node=True)
        stop = threading.Event()
        thread = threading.Thread(target=kubelet.run, args=(stop,), daemon=True)
        thread.start()
        registry.create(store, {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"web-{uuid.uuid4().hex[:5]}", "labels": {"app": "web"}}, "spec": {
            "nodeName": "fake", "containers": [
                {"name": "web", "image": "podctl/busybox:1", "command": ["sleep", "3600"]}]}})
        run(env, "create", "-f", "-", stdin=RC)  # adopts the pod on the fake node
        wait(lambda: status(env, "fake") == "True")
        time.sleep(1)  # the RC settles

        stop.set()
        thread.join()
        # The clock starts at its last heartbeat, as the grace period does.
        lease = store.require("Lease", "kube-node-lease", "fake")
        silent = time.monotonic() - (datetime.now(UTC) - meta.parse_time(
            lease["spec"]["renewTime"])).total_seconds()

        def pods() -> list[Any]:
            return list(get(env, "pods", "-l", "app=web")["items"])

        wait(lambda: status(env, "fake") == "Unknown")
        detected = time.monotonic() - silent
        wait(lambda: any(p["metadata"].get("deletionTimestamp") for p in pods()))
        evicted = time.monotonic() - silent
        wait(lambda: any(p["spec"].get("nodeName") != "fake"
                         and p["status"].get("phase") == "Running" for p in pods()))
        running = time.monotonic() - silent
        print_results({"node failure, from the last heartbeat (grace 10 s, toleration 5 s)": {
            "NotReady (s)": detected,
            "pod evicted (s)": evicted,
            "replacement Running (s)": running,
            "goal: grace+toleration+2 (s)": float(GRACE + TOLERATION + 2),
        }})
        store.close()
    finally:
        controller.terminate()
        controller.wait(timeout=15)
        remove_home(env, client)


if __name__ == "__main__":
    main()
