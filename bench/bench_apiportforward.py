"""Issue 24 benchmark: `kubectl port-forward` through `run-controller --api` (SPDY tunnelled
in a WebSocket, over TLS) against `podctl port-forward` (splice from a local listener), in
the same run on the same pod, interleaved round by round (target ratio >= 0.8).

The blob pod and the download are bench_portforward's: a 200 MB file from busybox httpd,
each download on a fresh connection; CPU seconds per GB of the API server's process (the
controller) and of kubectl's are printed beside the throughput. Then the latency of tiny
requests, each on a new connection (which, through kubectl, is two new SPDY streams).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import threading
from pathlib import Path

import docker

from bench.bench_api import _start
from bench.bench_portforward import (
    BLOB_MB,
    POD,
    cpu_seconds,
    fetch,
    start_forward,
    throughput,
    wait_for_blob,
)
from bench.common import print_results, remove_home, run, scratch_env

KUBECTL = str(Path(sys.executable).parent / "kubectl")


def start_kubectl_forward(env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([KUBECTL, "port-forward", "pod/blob", ":8080", "--address",
                             "127.0.0.1"], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8080", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise RuntimeError("kubectl port-forward did not start")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, int(match.group(1))


def bench_throughput(kubectl_port: int, podctl_port: int, pids: dict[str, int],
                     rounds: int) -> dict[str, float | int]:
    for port in (kubectl_port, podctl_port):
        throughput("127.0.0.1", port)  # warm-up
    kubectl, podctl = [], []
    cpu = dict.fromkeys(pids, 0.0)
    for _ in range(rounds):
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        kubectl.append(throughput("127.0.0.1", kubectl_port))
        for name, pid in pids.items():
            cpu[name] += cpu_seconds(pid) - before[name]
        podctl.append(throughput("127.0.0.1", podctl_port))
    gigabytes = rounds * BLOB_MB * 1.048576 / 1000
    return {"rounds": rounds, "kubectl_pf_MBps": statistics.median(kubectl),
            "podctl_pf_MBps": statistics.median(podctl),
            # Median of each round's ratio: pairs cancel the machine's drift.
            "kubectl_over_podctl": statistics.median(
                k / p for k, p in zip(kubectl, podctl, strict=True)),
            **{f"{name}_cpu_s_per_GB": seconds / gigabytes for name, seconds in cpu.items()}}


def bench_latency(kubectl_port: int, podctl_port: int, requests: int) -> dict[str, float | int]:
    kubectl, podctl = [], []
    for _ in range(20):  # warm-up
        fetch("127.0.0.1", kubectl_port, "/tiny")
        fetch("127.0.0.1", podctl_port, "/tiny")
    for _ in range(requests):
        kubectl.append(fetch("127.0.0.1", kubectl_port, "/tiny")[0])
        podctl.append(fetch("127.0.0.1", podctl_port, "/tiny")[0])
    return {"requests": requests, "kubectl_pf_median_ms": statistics.median(kubectl) * 1000,
            "podctl_pf_median_ms": statistics.median(podctl) * 1000}


def main() -> None:
    client = docker.from_env()
    env = scratch_env()
    procs: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = []
    try:
        controller, kenv = _start(env)
        procs.append(controller)
        run(env, "create", "-f", "-", stdin=POD)
        wait_for_blob(env)
        podctl_forward, podctl_port = start_forward(env)
        procs.append(podctl_forward)
        kubectl_forward, kubectl_port = start_kubectl_forward(kenv)
        procs.append(kubectl_forward)
        pids = {"api_server": controller.pid, "kubectl": kubectl_forward.pid}
        results = {"throughput": bench_throughput(kubectl_port, podctl_port, pids, rounds=7),
                   "latency": bench_latency(kubectl_port, podctl_port, requests=200)}
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait()
        remove_home(env, client)
    print_results(results)


if __name__ == "__main__":
    main()
