"""Issue 21 benchmarks: `podctl node add` to a Ready node, from nothing to a 3-node
cluster with a pod Running on each (kind's figure for one node: 32 s; the goal: 10 s for
three), and from `node stop` to the replacement of its ReplicationController's pod Running
on the host's node with grace 10 s and toleration 5 s (the goal: grace + toleration + 2 s),
beside the raw floor in the same run: a node container started by hand and its dockerd
answering."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import docker

from bench.common import PODCTL, median_ms, print_results, run, scratch_env

ROUNDS = 3
POD = """{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}"}},
 "spec": {{"nodeName": "{node}", "terminationGracePeriodSeconds": 1,
  "containers": [{{"name": "c", "image": "podctl/busybox:1", "command": ["sleep", "3600"]}}]}}}}
"""


def _reset(env: dict[str, str]) -> None:
    subprocess.run([PODCTL, "reset"], env=env, capture_output=True, check=True)


def _ready(env: dict[str, str], name: str) -> bool:
    out = subprocess.run([PODCTL, "get", "nodes", name, "--no-headers"], env=env,
                         capture_output=True, text=True).stdout.split()
    return len(out) > 1 and out[1] == "Ready"


def bench_add() -> dict[str, float | int]:
    """node add (the command's wall time) and add -> Ready (`get nodes` says Ready)."""
    env = scratch_env()
    adds, ready = [], []
    try:
        run(env, "get", "nodes")  # the host's node registered first, not timed
        for i in range(ROUNDS):
            name = f"n{i + 2}"
            started = time.perf_counter()
            adds.append(run(env, "node", "add", name))
            while not _ready(env, name):
                time.sleep(0.02)
            ready.append(time.perf_counter() - started)
    finally:
        _reset(env)
    return {"node_add_ms": median_ms(adds), "add_to_ready_ms": median_ms(ready),
            "rounds": ROUNDS}


def bench_cluster() -> dict[str, float | int]:
    """From nothing (a fresh home, its controller started) to nodes n2 and n3 Ready and a
    pod Running on each of the three nodes: the two adds run at once, as a user's script
    would run them."""
    env = scratch_env()
    controller = subprocess.Popen([PODCTL, "run-controller"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.perf_counter()
        adds = [subprocess.Popen([PODCTL, "node", "add", name], env=env,
                                 stdout=subprocess.DEVNULL) for name in ("n2", "n3")]
        if any(add.wait() != 0 for add in adds):
            raise RuntimeError("node add failed")
        host = next(n for n in json.loads(subprocess.run(
            [PODCTL, "get", "nodes", "-o", "json"], env=env, capture_output=True,
            check=True).stdout)["items"]
            if n["metadata"]["name"] not in ("n2", "n3"))["metadata"]["name"]
        manifest = "".join(POD.format(name=f"p-{node}", node=node)
                           for node in (host, "n2", "n3"))
        run(env, "create", "-f", "-", stdin=manifest)
        while True:
            pods = json.loads(subprocess.run([PODCTL, "get", "pods", "-o", "json"], env=env,
                                             capture_output=True, check=True).stdout)
            if sum((p.get("status") or {}).get("phase") == "Running"
                   for p in pods["items"]) == 3:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        controller.terminate()
        controller.wait()
        _reset(env)
    return {"three_nodes_pods_running_ms": elapsed * 1000}


GRACE, TOLERATION = 10, 5
# One replica that prefers n2: it starts there, and its replacement can go to the host.
PREFERS_N2 = """{"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
 "spec": {"replicas": 1, "selector": {"app": "rc"}, "template": {
  "metadata": {"labels": {"app": "rc"}},
  "spec": {"terminationGracePeriodSeconds": 1, "affinity": {"nodeAffinity": {
    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "preference": {
      "matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                            "values": ["n2"]}]}}]}},
   "containers": [{"name": "c", "image": "podctl/busybox:1", "command": ["sleep", "3600"]}]}}}}
"""


def _running_on(env: dict[str, str]) -> list[str]:
    pods = json.loads(subprocess.run([PODCTL, "get", "pods", "-o", "json"], env=env,
                                     capture_output=True, check=True).stdout)["items"]
    return [p["spec"].get("nodeName", "") for p in pods
            if (p.get("status") or {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")]


def bench_stop() -> dict[str, float | int]:
    """`node stop` of the node running an RC's pod, until its replacement runs elsewhere,
    with the controller's upstream-default monitor period (5 s)."""
    env = scratch_env()
    controller = subprocess.Popen(
        [PODCTL, "run-controller", f"--node-monitor-grace-period={GRACE}s",
         f"--default-not-ready-toleration-seconds={TOLERATION}",
         f"--default-unreachable-toleration-seconds={TOLERATION}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(env, "node", "add", "n2")
        run(env, "create", "-f", "-", stdin=PREFERS_N2)
        while _running_on(env) != ["n2"]:
            time.sleep(0.05)
        started = time.perf_counter()
        run(env, "node", "stop", "n2")
        while not [node for node in _running_on(env) if node != "n2"]:
            if time.perf_counter() - started > 120:
                raise RuntimeError("no replacement in 120 s")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        controller.terminate()
        controller.wait()
        _reset(env)
    return {"stop_to_replacement_running_ms": elapsed * 1000, "grace_s": GRACE,
            "toleration_s": TOLERATION, "goal_ms": (GRACE + TOLERATION + 2) * 1000}


def bench_raw(client: docker.DockerClient) -> dict[str, float | int]:
    """The floor: the node image started by hand (as podctl starts it) until its dockerd
    answers a ping through the bind-mounted socket."""
    import tempfile
    from pathlib import Path

    samples = []
    for _ in range(ROUNDS):
        sockets = Path(tempfile.mkdtemp(prefix="podctl-bench-node-"))
        volume = client.volumes.create()
        started = time.perf_counter()
        container = client.containers.run(
            "podctl/node:1", ["--host", "unix:///podctl/docker.sock"], detach=True,
            cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
                     volume.name: {"bind": "/var/lib/docker", "mode": "rw"},
                     str(sockets): {"bind": "/podctl", "mode": "rw"}},
            tmpfs={"/run": ""})
        try:
            while True:
                try:
                    inner = docker.APIClient(base_url=f"unix://{sockets}/docker.sock")
                    inner.ping()
                    inner.close()
                    break
                except Exception:
                    time.sleep(0.02)
            samples.append(time.perf_counter() - started)
        finally:
            container.remove(force=True)
            volume.remove(force=True)
            subprocess.run(["rm", "-rf", str(sockets)], check=False)
    return {"docker_run_to_ping_ms": median_ms(samples), "rounds": ROUNDS}


def main() -> None:
    client = docker.from_env()
    print_results({"node_add": bench_add()})
    sys.stdout.flush()
    print_results({"cluster_3_nodes": bench_cluster(), "node_stop": bench_stop(),
                   "raw_node_container": bench_raw(client)})


if __name__ == "__main__":
    main()
