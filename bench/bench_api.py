"""Issue 14 benchmarks: whole-process `kubectl get pods` with 100 pods through
`run-controller --api` (beside `podctl get pods` on the same state), and watch latency: from
a pod's container starting (Docker's event, the moment it is Ready: no readiness probe) to
the Running 1/1 row reaching `kubectl get pods -w`."""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker

from bench.common import PODCTL, median_ms, p90_ms, print_results, remove_home, scratch_env

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
POD = """---
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{{name: web, image: podctl/busybox:1, command: [sleep, "3600"]}}]
"""


def _start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    home = Path(env["PODCTL_HOME"])
    log = home / "controller.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([PODCTL, "run-controller", "--api=127.0.0.1:0"], env=env,
                                stdout=subprocess.DEVNULL, stderr=out)
    deadline = time.monotonic() + 20
    while "serving the Kubernetes API" not in log.read_text():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(log.read_text())
        time.sleep(0.05)
    config = home / "kubeconfig"
    config.write_text(subprocess.run([PODCTL, "kubeconfig"], env=env, capture_output=True,
                                     text=True, check=True).stdout)
    return proc, {**env, "KUBECONFIG": str(config), "HOME": str(home)}


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def bench_get(client: docker.DockerClient, pods: int, rounds: int) -> dict[str, float | int]:
    env = scratch_env()
    proc, kenv = _start(env)
    try:
        manifest = "".join(POD.format(name=f"many-{i}") for i in range(pods))
        subprocess.run([KUBECTL, "create", "-f", "-"], input=manifest.encode(), env=kenv,
                       capture_output=True, check=True)
        subprocess.run([KUBECTL, "wait", "--for=condition=Ready", "pods", "--all",
                        "--timeout=600s"], env=kenv, capture_output=True, check=True)
        _wall([KUBECTL, "get", "pods"], kenv)  # discovery cached, as in daily use
        kubectl = [_wall([KUBECTL, "get", "pods"], kenv) for _ in range(rounds)]
        podctl = [_wall([PODCTL, "get", "pods"], env) for _ in range(rounds)]
        # Tried a few times: a second may tick between the two (AGE).
        same = any(subprocess.run([KUBECTL, "get", "pods"], env=kenv, capture_output=True,
                                  text=True).stdout == subprocess.run(
            [PODCTL, "get", "pods"], env=env, capture_output=True, text=True).stdout
            for _ in range(5))
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    return {"pods": pods, "kubectl_get_pods_ms": median_ms(kubectl),
            "kubectl_get_pods_p90_ms": p90_ms(kubectl), "podctl_get_pods_ms": median_ms(podctl),
            "same_table": int(same)}


def bench_watch(client: docker.DockerClient, rounds: int) -> dict[str, float]:
    env = scratch_env()
    proc, kenv = _start(env)
    watch = subprocess.Popen([KUBECTL, "get", "pods", "-w"], env=kenv, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    rows: queue.Queue[tuple[float, str]] = queue.Queue()

    def read() -> None:
        for line in watch.stdout or []:
            rows.put((time.monotonic(), line))

    threading.Thread(target=read, daemon=True).start()
    started: queue.Queue[tuple[float, str]] = queue.Queue()
    events = client.api.events(decode=True, filters={"type": "container", "event": "start"})

    def follow() -> None:
        for event in events:
            attrs = (event.get("Actor") or {}).get("Attributes") or {}
            if attrs.get("io.kubernetes.container.name") == "web":
                started.put((time.monotonic(), attrs.get("io.kubernetes.pod.name", "")))

    threading.Thread(target=follow, daemon=True).start()
    latencies = []
    try:
        for i in range(rounds):
            name = f"watched-{i}"
            subprocess.run([KUBECTL, "create", "-f", "-"], input=POD.format(name=name).encode(),
                           env=kenv, capture_output=True, check=True)
            ready_at = next(t for t, pod in iter(lambda: started.get(timeout=60), None)
                            if pod == name)
            while True:
                seen_at, line = rows.get(timeout=60)
                if re.match(rf"{name}\s+1/1\s+Running", line):
                    break
            latencies.append(seen_at - ready_at)
    finally:
        events.close()
        watch.terminate()
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    return {"watch_ready_to_kubectl_ms": median_ms(latencies),
            "watch_ready_to_kubectl_p90_ms": p90_ms(latencies)}


def main() -> None:
    client = docker.from_env()
    print_results({"get": bench_get(client, pods=100, rounds=10),
                   "watch": bench_watch(client, rounds=10)})


if __name__ == "__main__":
    main()
