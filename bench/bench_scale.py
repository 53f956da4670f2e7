"""Issue 13 scale benchmark: podctl with 100 to 500 pods on one engine.

For each size in the series, in a fresh home: one `create -f` of that many pod documents,
`get pods` (beside `docker ps -a` listing the same containers: the engine's own list grows
with them), `describe pod` (one) and `describe pods` (all), the controller's start-up sync
of every pod (wall time and CPU), its idle CPU afterwards (a periodic resync included) and
`delete pods --all`; then how each grows from the smallest size to the largest, and an RC
scaled 0 -> 100 against the same sandboxes made with the SDK.

The largest size is PODCTL_BENCH_SCALE_TOP (default 500). On a shared 2-core machine the
500-pod step alone took over 15 minutes, most of it Docker removing containers.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import docker

from bench import bench_replication
from bench.bench_controller import cpu_seconds, rss_mb, start_controller
from bench.common import PODCTL, print_results, remove_home, run, scratch_env

TOP = int(os.environ.get("PODCTL_BENCH_SCALE_TOP", "500"))
BOTTOM = min(100, TOP)
SERIES = sorted({BOTTOM, (BOTTOM + TOP) // 2, TOP})
RC_REPLICAS = min(100, TOP)
IDLE_SECONDS = 40.0  # the controller's default resync is 30 s: one falls inside
POD = """apiVersion: v1
kind: Pod
metadata: {{name: pod-{i}}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{{name: web, image: podctl/kubia:1}}]
"""


def median_s(env: dict[str, str], args: list[str], rounds: int) -> float:
    return statistics.median(run(env, *args) for _ in range(rounds))


def docker_ps_s(env: dict[str, str], rounds: int) -> float:
    """Median wall time of the Go CLI's `docker ps -a` of the home's containers."""
    from pathlib import Path

    from podctl.home import home_id

    label = f"label=io.podctl.home={home_id(Path(env['PODCTL_HOME']))}"
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(["docker", "ps", "-a", "--filter", label], capture_output=True,
                       check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def settle(pid: int, quiet_seconds: float = 3.0, busy_share: float = 0.02) -> float:
    """Seconds until the process's CPU use over `quiet_seconds` drops below `busy_share`
    of a core (the quiet window not counted)."""
    started = time.monotonic()
    while True:
        before = cpu_seconds(pid)
        time.sleep(quiet_seconds)
        if cpu_seconds(pid) - before < busy_share * quiet_seconds:
            return time.monotonic() - started - quiet_seconds


def one_size(client: docker.DockerClient, pods: int) -> dict[str, float | int]:
    env = scratch_env()
    try:
        documents = "---\n".join(POD.format(i=i) for i in range(pods))
        create_s = run(env, "create", "-f", "-", stdin=documents)
        get_s = median_s(env, ["get", "pods"], 5)
        ps_s = docker_ps_s(env, 5)
        describe_one_s = median_s(env, ["describe", "pod", "pod-0"], 5)
        describe_all_s = median_s(env, ["describe", "pods"], 1)
        proc = start_controller(env)
        try:
            sync_s = settle(proc.pid)
            sync_cpu_s = cpu_seconds(proc.pid)
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(IDLE_SECONDS)
            idle = 100 * (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
            rss = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
        running = subprocess.run([PODCTL, "get", "pods"], env=env, capture_output=True,
                                 text=True, check=True).stdout.count(" Running ")
        delete_s = run(env, "delete", "pods", "--all")
    finally:
        remove_home(env, client)
    return {"pods": pods, "running": running, "create_f_s": create_s,
            "create_ms_per_pod": 1000 * create_s / pods, "get_pods_ms": 1000 * get_s,
            "docker_ps_a_ms": 1000 * ps_s, "get_pods_over_docker_ps": get_s / ps_s,
            "describe_one_ms": 1000 * describe_one_s, "describe_all_s": describe_all_s,
            "controller_startup_sync_s": sync_s,
            "controller_startup_cpu_s": sync_cpu_s, "controller_idle_cpu_pct": idle,
            "controller_rss_mb": rss, "delete_all_s": delete_s,
            "delete_ms_per_pod": 1000 * delete_s / pods}


def growth(series: list[dict[str, float | int]]) -> dict[str, float | int]:
    """Each measure at the largest size over the same at the smallest (pods grew by
    the first line)."""
    low, high = series[0], series[-1]
    out: dict[str, float | int] = {"pods_ratio": high["pods"] / low["pods"]}
    for key in ("create_f_s", "get_pods_ms", "docker_ps_a_ms", "describe_one_ms",
                "describe_all_s", "controller_startup_sync_s", "controller_startup_cpu_s",
                "controller_idle_cpu_pct", "controller_rss_mb", "delete_all_s"):
        out[key] = float(high[key]) / max(float(low[key]), 1e-9)
    return out


def main() -> None:
    client = docker.from_env()
    series = []
    for pods in SERIES:  # each size printed as it ends: the whole series takes a while
        series.append(one_size(client, pods))
        print_results({f"pods_{pods}": series[-1]})
        sys.stdout.flush()
    print_results({f"growth_{SERIES[0]}_to_{SERIES[-1]}": growth(series),
                   f"rc_0_to_{RC_REPLICAS}": bench_replication.bench_scale(client,
                                                                           RC_REPLICAS)})


if __name__ == "__main__":
    main()
