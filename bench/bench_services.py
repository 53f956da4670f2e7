"""Issue 11 benchmarks, one run: download throughput pod -> ClusterIP -> pod against
pod -> pod IP, added latency per request through a ClusterIP, and the time from a pod's
readiness verdict to its endpoint leaving the kernel's rules."""

from __future__ import annotations

import http.client
import re
import statistics
import subprocess
import time
from datetime import datetime
from pathlib import Path

import docker

from bench.bench_controller import start_controller
from bench.common import PODCTL, print_results, remove_home, run, scratch_env
from podctl.home import home_id

SERVER = """
apiVersion: v1
kind: Pod
metadata: {name: server, labels: {app: server}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: podctl/busybox:1
    command: ["sh", "-c", "mkdir -p /www && dd if=/dev/zero of=/www/blob bs=1M count=512 \
2>/dev/null && touch /tmp/ready && exec httpd -f -p 8080 -h /www"]
    ports: [{containerPort: 8080}]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: server}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 8080}]
"""
CLIENT = """
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: podctl/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""
BLOB_MB = 512


def podctl_out(env: dict[str, str], *args: str) -> str:
    return subprocess.run([PODCTL, *args], env=env, capture_output=True, text=True,
                          check=True).stdout


def wait(predicate: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.2)


def download_seconds(env: dict[str, str], url: str) -> float:
    """busybox `time` of one wget of the blob inside the client pod (centiseconds)."""
    out = subprocess.run([PODCTL, "exec", "client", "--", "sh", "-c",
                          f"time wget -qO /dev/null {url}"], env=env, capture_output=True,
                         text=True, check=True)
    found = re.search(r"real\s+(\d+)m\s*([\d.]+)s", out.stderr)
    if not found:
        raise RuntimeError(out.stderr)
    return int(found.group(1)) * 60 + float(found.group(2))


def request_seconds(host: str, port: int, count: int) -> list[float]:
    """Fresh connection per request, as a client without keep-alive makes them."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/")
        conn.getresponse().read()
        conn.close()
        samples.append(time.perf_counter() - started)
    return samples


def readiness_flip(env: dict[str, str], pod_ip: str, rounds: int) -> list[float]:
    """Seconds from the prober's 'failure' verdict (controller log) to no rule naming the
    pod's IP in this home's chains (iptables-save on this host, polled)."""
    log = env["PODCTL_HOME"] + "/controller.log"
    prefix = f"PODCTL-{home_id_of(env)}-"
    samples = []
    for _ in range(rounds):
        wait(lambda: pod_ip in owned_rules(prefix))
        subprocess.run([PODCTL, "exec", "server", "--", "rm", "/tmp/ready"], env=env,
                       check=True)
        wait(lambda: pod_ip not in owned_rules(prefix), timeout=30)
        gone = time.time()
        verdicts = [line for line in Path(log).read_text().splitlines()
                    if "readiness probe of default/server" in line and "failure" in line]
        stamp = datetime.strptime(verdicts[-1][:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        samples.append(gone - stamp)
        subprocess.run([PODCTL, "exec", "server", "--", "touch", "/tmp/ready"], env=env,
                       check=True)
    return samples


def owned_rules(prefix: str) -> str:
    saved = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True,
                           text=True).stdout
    return "\n".join(line for line in saved.splitlines() if prefix in line)


def home_id_of(env: dict[str, str]) -> str:
    return home_id(Path(env["PODCTL_HOME"]))


def main() -> None:
    client = docker.from_env()
    env = scratch_env()
    proc = start_controller(env)
    try:
        run(env, "create", "-f", "-", stdin=SERVER)
        wait(lambda: "1/1" in podctl_out(env, "get", "pod", "kube-dns", "-n", "kube-system"))
        run(env, "create", "-f", "-", stdin=CLIENT)
        run(env, "wait", "--for=condition=Ready", "pod/server", "pod/client", "--timeout=120s")
        pod_ip = podctl_out(env, "get", "pod", "server", "-o", "jsonpath={.status.podIP}")
        vip = podctl_out(env, "get", "svc", "server", "-o", "jsonpath={.spec.clusterIP}")
        direct, service = [], []
        download_seconds(env, f"http://{pod_ip}:8080/blob")  # page cache warm
        for _ in range(5):  # interleaved rounds: the machine's speed drifts
            direct.append(download_seconds(env, f"http://{pod_ip}:8080/blob"))
            service.append(download_seconds(env, f"http://{vip}/blob"))
        lat_direct, lat_service = [], []
        for _ in range(5):
            lat_direct += request_seconds(pod_ip, 8080, 100)
            lat_service += request_seconds(vip, 80, 100)
        flips = readiness_flip(env, pod_ip, 5)
    finally:
        proc.terminate()
        proc.wait()
        subprocess.run([PODCTL, "delete", "pods", "--all", "-n", "kube-system", "--now"],
                       env=env, capture_output=True)
        remove_home(env, client)
    mb_direct = BLOB_MB / statistics.median(direct)
    mb_service = BLOB_MB / statistics.median(service)
    print_results({
        "download_pod_to_pod": {"MB_per_s_median": mb_direct,
                                "MB_per_s_min": BLOB_MB / max(direct),
                                "MB_per_s_max": BLOB_MB / min(direct)},
        "download_pod_to_clusterip": {"MB_per_s_median": mb_service,
                                      "MB_per_s_min": BLOB_MB / max(service),
                                      "MB_per_s_max": BLOB_MB / min(service),
                                      "ratio_to_direct": mb_service / mb_direct},
        "request_latency_from_host": {
            "direct_median_ms": statistics.median(lat_direct) * 1000,
            "clusterip_median_ms": statistics.median(lat_service) * 1000,
            "added_ms": (statistics.median(lat_service) - statistics.median(lat_direct))
            * 1000},
        "readiness_verdict_to_rules": {"median_s": statistics.median(flips),
                                       "max_s": max(flips)},
    })


if __name__ == "__main__":
    main()
