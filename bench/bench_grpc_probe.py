"""gRPC probe cost on the controller: podctl's h2 exchange against grpcio's channel, on the
same server (images/grpc-health/grpchealth.c, run on the host), in fresh processes.

    python bench/bench_grpc_probe.py [--calls N]

Prints, for each client available in this interpreter: the import time of what a probe
loads, the resident memory it adds, and CPU and wall time per Health/Check call (a new
connection per call, as the kubelet's prober dials per attempt). grpcio is not a podctl
dependency: install it beside podctl to compare (`pip install grpcio`)."""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "images" / "grpc-health" / "grpchealth.c"

H2_CLIENT = """
import resource, time, sys
t = time.perf_counter(); rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from podctl.kubelet.grpcprobe import grpc_probe
import h2.connection, h2.config, h2.events
imported = time.perf_counter() - t
port, calls = int(sys.argv[1]), int(sys.argv[2])
cpu, wall = time.process_time(), time.perf_counter()
for _ in range(calls):
    assert grpc_probe({"grpc": {"port": port}}, "127.0.0.1", 1).output == "service healthy"
print(imported, time.process_time() - cpu, time.perf_counter() - wall,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss)
"""

GRPC_CLIENT = """
import resource, time, sys
t = time.perf_counter(); rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import grpc
imported = time.perf_counter() - t
port, calls = int(sys.argv[1]), int(sys.argv[2])
request = b""  # HealthCheckRequest{} serialises to nothing
cpu, wall = time.process_time(), time.perf_counter()
for _ in range(calls):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=None, response_deserializer=None)
        assert check(request, timeout=1) == bytes([8, 1])
print(imported, time.process_time() - cpu, time.perf_counter() - wall,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(code: str, port: int, calls: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, str(port), str(calls)],
                         capture_output=True, text=True, check=True).stdout.split()
    imported, cpu, wall, rss_kib = (float(x) for x in out)
    return {"import_ms": round(imported * 1000, 1),
            "cpu_ms_per_call": round(cpu / calls * 1000, 3),
            "wall_ms_per_call": round(wall / calls * 1000, 3),
            "rss_added_mib": round(rss_kib / 1024, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args(argv if argv is not None else [])
    work = Path(tempfile.mkdtemp())
    binary = work / "grpchealth"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(SOURCE)], check=True)
    port = _free_port()
    server = subprocess.Popen([str(binary), str(port)], stdout=subprocess.PIPE, cwd=work)
    assert server.stdout is not None
    server.stdout.readline()  # listening
    results: dict[str, object] = {"calls": args.calls}
    try:
        results["h2 (podctl)"] = _run(H2_CLIENT, port, args.calls)
        try:
            import grpc  # noqa: F401
            results["grpcio"] = _run(GRPC_CLIENT, port, args.calls)
        except ImportError:
            results["grpcio"] = "not installed in this interpreter"
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
