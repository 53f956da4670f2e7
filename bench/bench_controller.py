"""Issue 4 and 9 benchmarks: restart latency after `docker kill` (alone, and while five
other pods sit in 30 s graceful stops), and the controller's CPU and memory with 50 pods
probed every second."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

import docker

from bench.common import PODCTL, print_results, remove_home, run, scratch_env

PROBED = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: podctl/kubia:1
    livenessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
    readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
"""
# Ignores SIGTERM, so stopping it takes its whole 30 s grace period.
STUBBORN = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  containers:
  - name: app
    image: podctl/busybox:1
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]
"""
# Probed pods at each step (the cost per probe must not grow); the largest is
# PODCTL_BENCH_SCALE_TOP, as in bench_scale.
PROBED_SERIES = sorted({50, 200, int(os.environ.get("PODCTL_BENCH_SCALE_TOP", "500"))})
PLAIN = """
apiVersion: v1
kind: Pod
metadata: {name: victim}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: web, image: podctl/kubia:1}]
"""


def start_controller(env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = Path(env["PODCTL_HOME"]) / "controller.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([PODCTL, "run-controller"], env=env,
                                stdout=subprocess.DEVNULL, stderr=out)
    deadline = time.monotonic() + 10
    while "controller active" not in log.read_text():
        if time.monotonic() > deadline:
            raise RuntimeError(log.read_text())
        time.sleep(0.05)
    return proc


def app_container(client: docker.APIClient, uid: str) -> dict[str, str] | None:
    for entry in client.containers(filters={"label": [f"io.kubernetes.pod.uid={uid}",
                                                      "io.kubernetes.docker.type=container"]}):
        return {"id": entry["Id"], "state": entry["State"]}
    return None


def pod_uid(env: dict[str, str], name: str) -> str:
    return subprocess.run([PODCTL, "get", "pod", name, "-o", "jsonpath={.metadata.uid}"],
                          env=env, capture_output=True, text=True, check=True).stdout


def sandbox_of(client: docker.APIClient, uid: str) -> str:
    found = client.containers(filters={"label": [f"io.kubernetes.pod.uid={uid}",
                                                 "io.kubernetes.docker.type=podsandbox"]})
    return str(found[0]["Id"])


def start_stuck_stops(client: docker.DockerClient, env: dict[str, str], count: int) -> None:
    """`count` pods whose apps ignore SIGTERM lose their sandboxes: the controller now
    stops each app with its 30 s grace period."""
    for i in range(count):
        run(env, "create", "-f", "-", stdin=STUBBORN.format(name=f"stuck-{i}"))
    uids = [pod_uid(env, f"stuck-{i}") for i in range(count)]
    deadline = time.monotonic() + 60
    while not all(app_container(client.api, uid) for uid in uids):
        if time.monotonic() > deadline:
            raise RuntimeError("the stubborn pods did not start")
        time.sleep(0.1)
    for uid in uids:
        client.api.kill(sandbox_of(client.api, uid))
    while subprocess.run([PODCTL, "get", "events"], env=env, capture_output=True,
                         text=True).stdout.count("SandboxChanged") < count:
        time.sleep(0.1)


def bench_restart(client: docker.DockerClient, rounds: int,
                  stuck: int = 0) -> dict[str, float]:
    env = scratch_env()
    proc = start_controller(env)
    api = client.api
    samples = []
    try:
        if stuck:
            start_stuck_stops(client, env, stuck)
            stops_began = time.monotonic()
        run(env, "create", "-f", "-", stdin=PLAIN)
        uid = pod_uid(env, "victim")
        for _ in range(rounds):
            before = app_container(api, uid)
            assert before is not None
            # The first restart is immediate; later ones back off (10 s, 20 s...) as in the
            # kubelet, so each round measures a first restart on a freshly created pod.
            api.kill(before["id"])
            started = time.perf_counter()
            while True:
                now = app_container(api, uid)
                if now is not None and now["id"] != before["id"] and now["state"] == "running":
                    break
                time.sleep(0.01)
            samples.append(time.perf_counter() - started)
            run(env, "delete", "pod", "victim", "--now")
            run(env, "create", "-f", "-", stdin=PLAIN)
            uid = pod_uid(env, "victim")
        if stuck and time.monotonic() - stops_began >= 30:
            raise RuntimeError("the rounds outlasted the graceful stops they were to overlap")
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    return {"rounds": rounds, "stuck_pods_in_graceful_stops": stuck,
            "restart_median_ms": statistics.median(samples) * 1000,
            "restart_max_ms": max(samples) * 1000}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_probes(client: docker.DockerClient, pods: int, seconds: float) -> dict[str, float]:
    env = scratch_env()
    try:
        run(env, "create", "-f", "-",
            stdin="---\n".join(PROBED.format(name=f"probed-{i}") for i in range(pods)))
        proc = start_controller(env)
        try:
            time.sleep(5 + pods / 25)  # every pod synced, every worker scheduled
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            rss = rss_mb(proc.pid)
            ready = subprocess.run([PODCTL, "get", "pods"], env=env, capture_output=True,
                                   text=True, check=True).stdout.count(" 1/1 ")
        finally:
            proc.terminate()
            proc.wait()
    finally:
        remove_home(env, client)
    return {"pods": pods, "probes_per_second": 2.0 * pods, "seconds": seconds,
            "cpu_percent_of_one_core": 100 * (cpu1 - cpu0) / (t1 - t0),
            "cpu_ms_per_probe": 1000 * (cpu1 - cpu0) / (t1 - t0) / (2.0 * pods),
            "rss_mb": rss, "pods_ready": ready}


def main() -> None:
    client = docker.from_env()
    results = {"restart": bench_restart(client, rounds=10),
               "restart_during_five_30s_stops": bench_restart(client, rounds=6, stuck=5),
               **{f"probes_{pods}_pods": bench_probes(client, pods=pods, seconds=60)
                  for pods in PROBED_SERIES}}
    print_results(results)


if __name__ == "__main__":
    main()
