"""Issue 4 benchmarks: restart latency after `docker kill`, and the controller's CPU and
memory with 50 pods probed every second."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
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


def bench_restart(client: docker.DockerClient, rounds: int) -> dict[str, float]:
    env = scratch_env()
    proc = start_controller(env)
    api = client.api
    samples = []
    try:
        run(env, "create", "-f", "-", stdin=PLAIN)
        out = subprocess.run([PODCTL, "get", "pod", "victim", "-o",
                              "jsonpath={.metadata.uid}"], env=env, capture_output=True,
                             text=True, check=True).stdout
        for _ in range(rounds):
            before = app_container(api, out)
            assert before is not None
            # The first restart is immediate; later ones back off (10 s, 20 s...) as in the
            # kubelet, so each round measures a first restart on a freshly created pod.
            api.kill(before["id"])
            started = time.perf_counter()
            while True:
                now = app_container(api, out)
                if now is not None and now["id"] != before["id"] and now["state"] == "running":
                    break
                time.sleep(0.01)
            samples.append(time.perf_counter() - started)
            run(env, "delete", "pod", "victim", "--now")
            run(env, "create", "-f", "-", stdin=PLAIN)
            out = subprocess.run([PODCTL, "get", "pod", "victim", "-o",
                                  "jsonpath={.metadata.uid}"], env=env, capture_output=True,
                                 text=True, check=True).stdout
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    return {"restart_median_ms": statistics.median(samples) * 1000,
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
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: run(env, "create", "-f", "-",
                                        stdin=PROBED.format(name=f"probed-{i}")), range(pods)))
        proc = start_controller(env)
        try:
            time.sleep(5)  # every worker scheduled, first results written
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
            "cpu_percent_of_one_core": 100 * (cpu1 - cpu0) / (t1 - t0), "rss_mb": rss,
            "pods_ready": ready}


def main() -> None:
    client = docker.from_env()
    results = {"restart": bench_restart(client, rounds=10),
               "probes": bench_probes(client, pods=50, seconds=60)}
    print_results(results)


if __name__ == "__main__":
    main()
