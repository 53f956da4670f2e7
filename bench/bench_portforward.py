"""Issue 6 benchmark: `podctl port-forward` against a direct connection to the pod IP.

One busybox httpd pod serves a 200 MB file and a tiny one. In the same run, interleaved:
download throughput through the forward and directly (target ratio >= 0.85), and the
latency of tiny requests, each on a new connection (target: <= 1 ms added, median). For
reference, an asyncio relay with 256 KiB reads (baseline.md section 6) runs the same
download in this process.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import subprocess
import threading
import time
from pathlib import Path

import docker

from bench.common import PODCTL, print_results, remove_home, run, scratch_env

BLOB_MB = 200
POD = f"""
apiVersion: v1
kind: Pod
metadata: {{name: blob}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: podctl/busybox:1
    command: [sh, -c, "mkdir -p /www && echo hi > /www/tiny && dd if=/dev/urandom
      of=/www/blob bs=1M count={BLOB_MB} 2>/dev/null && exec httpd -f -p 8080 -h /www"]
"""
BUFFER = bytearray(4 << 20)


def fetch(host: str, port: int, path: str) -> tuple[float, int]:
    """Wall time and body+header bytes of one HTTP/1.0 GET on a fresh connection."""
    import socket

    started = time.perf_counter()
    total = 0
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        while count := sock.recv_into(BUFFER):
            total += count
    return time.perf_counter() - started, total


def throughput(host: str, port: int) -> float:
    """MB/s (10^6 B/s) of one download of the blob."""
    seconds, size = fetch(host, port, "/blob")
    if size < BLOB_MB << 20:
        raise RuntimeError(f"short download: {size} bytes")
    return size / seconds / 1e6


def start_forward(env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([PODCTL, "port-forward", "blob", ":8080", "--address",
                             "127.0.0.1"], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8080", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise RuntimeError("port-forward did not start")
    # drain "Handling connection" lines so the forward never blocks on a full pipe
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, int(match.group(1))


def wait_for_blob(env: dict[str, str]) -> str:
    """The pod IP, once httpd serves the finished file."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pod = json.loads(subprocess.run([PODCTL, "get", "pod", "blob", "-o", "json"], env=env,
                                        capture_output=True, text=True, check=True).stdout)
        ip = pod["status"].get("podIP")
        if ip:
            try:
                fetch(ip, 8080, "/tiny")
                return str(ip)
            except OSError:
                pass
        time.sleep(0.5)
    raise RuntimeError("the blob pod did not come up")


class AsyncioRelay:
    """The reference relay: asyncio streams with 256 KiB reads, on its own loop thread."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self.handle, "127.0.0.1", 0, limit=1 << 18))
        self.port = int(self.server.sockets[0].getsockname()[1])
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def cpu_seconds(self) -> float:
        """CPU time of the relay's loop thread."""
        assert self.thread.native_id is not None
        return cpu_seconds(f"self/task/{self.thread.native_id}")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target, limit=1 << 18)
        await asyncio.gather(self.pipe(reader, up_writer), self.pipe(up_reader, writer))
        writer.close()
        up_writer.close()

    @staticmethod
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1 << 18):
            writer.write(data)
            await writer.drain()
        writer.write_eof()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.drain(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()

    async def drain(self) -> None:
        self.server.close()
        others = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*others, return_exceptions=True)


def cpu_seconds(proc: int | str) -> float:
    """User + system CPU seconds of /proc/<proc> (a pid, or self/task/<tid>)."""
    import os

    fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_throughput(ip: str, port: int, pid: int, rounds: int) -> dict[str, float | int]:
    reference = AsyncioRelay((ip, 8080))
    try:
        for target in ((ip, 8080), ("127.0.0.1", port), ("127.0.0.1", reference.port)):
            throughput(*target)  # warm-up
        direct, forward, asyncio_relay = [], [], []
        forward_cpu = asyncio_cpu = 0.0
        for _ in range(rounds):
            direct.append(throughput(ip, 8080))
            before = cpu_seconds(pid)
            forward.append(throughput("127.0.0.1", port))
            forward_cpu += cpu_seconds(pid) - before
            before = reference.cpu_seconds()
            asyncio_relay.append(throughput("127.0.0.1", reference.port))
            asyncio_cpu += reference.cpu_seconds() - before
    finally:
        reference.stop()
    gigabytes = rounds * BLOB_MB * 1.048576 / 1000

    def ratio(relayed: list[float]) -> float:
        """Median of each round's relayed/direct: pairs cancel the machine's drift."""
        return statistics.median(r / d for r, d in zip(relayed, direct, strict=True))

    return {"rounds": rounds, "direct_MBps": statistics.median(direct),
            "forward_MBps": statistics.median(forward), "forward_over_direct": ratio(forward),
            "forward_cpu_s_per_GB": forward_cpu / gigabytes,
            "asyncio_256k_MBps": statistics.median(asyncio_relay),
            "asyncio_over_direct": ratio(asyncio_relay),
            "asyncio_cpu_s_per_GB": asyncio_cpu / gigabytes}


def bench_latency(ip: str, port: int, requests: int) -> dict[str, float | int]:
    direct, forward = [], []
    for _ in range(20):  # warm-up
        fetch(ip, 8080, "/tiny")
        fetch("127.0.0.1", port, "/tiny")
    for _ in range(requests):
        direct.append(fetch(ip, 8080, "/tiny")[0])
        forward.append(fetch("127.0.0.1", port, "/tiny")[0])
    return {"requests": requests, "direct_median_ms": statistics.median(direct) * 1000,
            "forward_median_ms": statistics.median(forward) * 1000,
            "added_median_ms": (statistics.median(forward) - statistics.median(direct)) * 1000}


def main() -> None:
    client = docker.from_env()
    env = scratch_env()
    try:
        run(env, "create", "-f", "-", stdin=POD)
        ip = wait_for_blob(env)
        proc, port = start_forward(env)
        try:
            results = {"throughput": bench_throughput(ip, port, proc.pid, rounds=7),
                       "latency": bench_latency(ip, port, requests=200)}
        finally:
            proc.terminate()
            proc.wait()
    finally:
        remove_home(env, client)
    print_results(results)


if __name__ == "__main__":
    main()
