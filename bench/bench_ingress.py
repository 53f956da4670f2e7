"""Issue 25 benchmark: HTTP through the ingress controller against straight to the pod IP,
in the same run, and the time from an Ingress change to traffic following it.

One home, one kubia pod behind a Service and an Ingress for `bench.example.test` on
127.0.0.1:<http port> (80 when free; else a free port given with
run-controller --ingress-http-port). The same client drives both paths: curl --parallel
(C, so the client is not what is measured) with CONCURRENCY requests in flight, each a new
connection (kubia closes every one; the client asks the ingress to do the same, so the
client's work per request is alike on both paths); the rounds interleave the two paths
and the ratio is taken within each round, its median reported (goal: ingress >= 0.8x
direct). The added
latency is the difference of the median times of sequential requests (a new connection
each, from Python, the paths taking turns). A change: the Ingress's backend is switched
between two Services with `podctl apply`; the clock starts when the command has returned
(the change is stored) and stops at the first answer from the new backend (polled every
5 ms), while curl keeps requests in flight through the ingress: every change is a reload,
and the requests answered and failed meanwhile are counted (goal: none failed)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time

from bench.common import PODCTL, print_results, run, scratch_env

ROUNDS = 9
# Enough that a round lasts about a second on each path: curl's own start (a few ms) and
# the scheduler's hiccups weigh little beside it.
REQUESTS = 2000
CONCURRENCY = 16
SEQUENTIAL = 100
CHANGES = 5
HOST = "bench.example.test"


def _app(name: str) -> str:
    return "".join(json.dumps(o) for o in (
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "labels": {"app": name}},
         "spec": {"terminationGracePeriodSeconds": 1,
                  "containers": [{"name": "kubia", "image": "podctl/kubia:1",
                                  "ports": [{"containerPort": 8080}]}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
         "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}))


def _ingress(backend: str) -> str:
    return json.dumps({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "bench"},
        "spec": {"rules": [{"host": HOST, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}]}})


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", preferred))
            return preferred
        except OSError:
            probe.bind(("0.0.0.0", 0))
            return int(probe.getsockname()[1])


def _get(address: tuple[str, int], host: str) -> str:
    conn = http.client.HTTPConnection(*address, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host})
        return conn.getresponse().read().decode(errors="replace")
    finally:
        conn.close()


def _wait(address: tuple[str, int], host: str, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if text in _get(address, host):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no answer with {text!r} from {address} for {host}")


def _codes(url: str, host: str, count: int) -> list[str]:
    """The status codes of `count` requests, CONCURRENCY at a time, by curl."""
    with tempfile.NamedTemporaryFile("w", suffix=".curl", delete=False) as config:
        config.write(f'url = "{url}"\noutput = "/dev/null"\n' * count)
    try:
        done = subprocess.run(
            ["curl", "-s", "--parallel", "--parallel-max", str(CONCURRENCY), "-H",
             f"Host: {host}", "-H", "Connection: close", "-w", "%{http_code}\n", "-K",
             config.name],
            capture_output=True, text=True, check=False)
    finally:
        os.unlink(config.name)
    return done.stdout.split()


def _rate(url: str, host: str) -> float:
    """Requests per second of REQUESTS requests, CONCURRENCY at a time."""
    started = time.perf_counter()
    codes = _codes(url, host, REQUESTS)
    elapsed = time.perf_counter() - started
    if codes.count("200") != REQUESTS:
        raise RuntimeError(f"{url}: {REQUESTS - codes.count('200')} of {REQUESTS} failed")
    return REQUESTS / elapsed


def _latencies(addresses: dict[str, tuple[str, int]], host: str) -> dict[str, float]:
    """The median time of one request per path, the paths taking turns (the machine's load
    drifts alike for both)."""
    samples: dict[str, list[float]] = {path: [] for path in addresses}
    for _ in range(SEQUENTIAL):
        for path, address in addresses.items():
            started = time.perf_counter()
            body = _get(address, host)
            samples[path].append(time.perf_counter() - started)
            if "You've hit" not in body:
                raise RuntimeError(f"{path}: {body[:80]!r}")
    return {path: statistics.median(times) for path, times in samples.items()}


def _change_times(env: dict[str, str], ingress: tuple[str, int]) -> tuple[list[float], int, int]:
    """The times to traffic following each change, and the requests answered and failed by
    a load kept up meanwhile (every change is a reload: none may be lost)."""
    codes: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            codes.extend(_codes(f"http://{ingress[0]}:{ingress[1]}/", HOST, 50))

    loader = threading.Thread(target=load)
    loader.start()
    try:
        times = _changes(env, ingress)
    finally:
        stop.set()
        loader.join()
    return times, codes.count("200"), len(codes) - codes.count("200")


def _changes(env: dict[str, str], ingress: tuple[str, int]) -> list[float]:
    times = []
    for i in range(CHANGES):
        backend = ("bench-b", "bench-a")[i % 2]
        run(env, "apply", "-f", "-", stdin=_ingress(backend))
        started = time.perf_counter()
        while f"You've hit {backend}" not in _get(ingress, HOST):
            if time.perf_counter() - started > 60:
                raise RuntimeError(f"traffic never followed the change to {backend}")
            time.sleep(0.005)
        times.append(time.perf_counter() - started)
    return times


def bench_ingress() -> dict[str, float | int]:
    env = scratch_env()
    http_port, https_port = _free_port(80), _free_port(443)
    controller = subprocess.Popen(
        [PODCTL, "run-controller", f"--ingress-http-port={http_port}",
         f"--ingress-https-port={https_port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(env, "create", "-f", "-", stdin=_app("bench-a") + _app("bench-b"))
        run(env, "create", "-f", "-", stdin=_ingress("bench-a"))
        ingress = ("127.0.0.1", http_port)
        _wait(ingress, HOST, "You've hit bench-a")
        pod_ip = json.loads(subprocess.run(
            [PODCTL, "get", "pod", "bench-a", "-o", "json"], env=env, capture_output=True,
            check=True).stdout)["status"]["podIP"]
        direct = (pod_ip, 8080)
        _wait(direct, HOST, "You've hit bench-a")
        urls = {"direct": (f"http://{pod_ip}:8080/", direct),
                "ingress": (f"http://127.0.0.1:{http_port}/", ingress)}
        rates: dict[str, list[float]] = {path: [] for path in urls}
        for round_no in range(ROUNDS):
            order = list(urls) if round_no % 2 == 0 else list(reversed(urls))
            for path in order:
                rates[path].append(_rate(urls[path][0], HOST))
        latency = _latencies({path: address for path, (_, address) in urls.items()}, HOST)
        changes, answered, failed = _change_times(env, ingress)
        ratios = [i / d for i, d in zip(rates["ingress"], rates["direct"], strict=True)]
        return {
            "direct_req_s": round(statistics.median(rates["direct"])),
            "ingress_req_s": round(statistics.median(rates["ingress"])),
            "ingress_over_direct": round(statistics.median(ratios), 2),
            "ingress_over_direct_min": round(min(ratios), 2),
            "ingress_over_direct_max": round(max(ratios), 2),
            # The rounds' spread on a shared machine: the ratio of the two medians beside it.
            "ingress_over_direct_medians": round(statistics.median(rates["ingress"])
                                                 / statistics.median(rates["direct"]), 2),
            "direct_req_s_min": round(min(rates["direct"])),
            "direct_req_s_max": round(max(rates["direct"])),
            "ingress_req_s_min": round(min(rates["ingress"])),
            "ingress_req_s_max": round(max(rates["ingress"])),
            "direct_latency_ms": round(latency["direct"] * 1000, 3),
            "ingress_latency_ms": round(latency["ingress"] * 1000, 3),
            "added_latency_ms": round((latency["ingress"] - latency["direct"]) * 1000, 3),
            "change_live_median_ms": round(statistics.median(changes) * 1000, 1),
            "change_live_max_ms": round(max(changes) * 1000, 1),
            "answered_across_reloads": answered, "failed_across_reloads": failed,
            "http_port": http_port, "rounds": ROUNDS, "requests_per_round": REQUESTS,
            "concurrency": CONCURRENCY, "changes": CHANGES,
        }
    finally:
        controller.terminate()
        controller.wait()
        subprocess.run([PODCTL, "reset"], env=env, capture_output=True, check=False)


def main() -> None:
    print_results({"ingress": bench_ingress()})


if __name__ == "__main__":
    main()
