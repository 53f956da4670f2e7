"""Issue 24 benchmark: aggregated discovery (apidiscovery.k8s.io/v2) against the
per-group-version discovery it replaces, on the same `run-controller --api`, interleaved.

A cold discovery as client-go makes it: legacy is GET /api and /apis, then every group
version at once (over HTTP/1.1 each in flight on a connection of its own, TLS included);
aggregated is GET /api and /apis asking for APIGroupDiscoveryList. Beside them, the wall
time of the real kubectl with an empty discovery cache (`kubectl api-resources`), which
takes the aggregated document when served.
"""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import docker
import yaml

from bench.bench_api import _start
from bench.common import print_results, remove_home, scratch_env

KUBECTL = str(Path(sys.executable).parent / "kubectl")
AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json")


class Client:
    """GETs on fresh TLS connections, with the kubeconfig's CA and token."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        self.url = urlparse(cluster["server"])
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        self.context = ssl.create_default_context(cadata=ca)
        self.headers = {"Authorization": f"Bearer {user['token']}"}

    def get(self, path: str, accept: str = "application/json, */*") -> bytes:
        conn = http.client.HTTPSConnection(self.url.hostname or "", self.url.port,
                                           context=self.context, timeout=30)
        try:
            conn.request("GET", path, headers={**self.headers, "Accept": accept})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status}")
            return body
        finally:
            conn.close()


def legacy(client: Client, pool: ThreadPoolExecutor) -> float:
    started = time.perf_counter()
    client.get("/api")
    groups = json.loads(client.get("/apis"))["groups"]
    paths = ["/api/v1", *(f"/apis/{g['preferredVersion']['groupVersion']}" for g in groups)]
    list(pool.map(client.get, paths))
    return time.perf_counter() - started


def aggregated(client: Client) -> float:
    started = time.perf_counter()
    for path in ("/api", "/apis"):
        client.get(path, AGGREGATED)
    return time.perf_counter() - started


def kubectl_cold(env: dict[str, str]) -> float:
    home = tempfile.mkdtemp(prefix="podctl-bench-kubectl-")
    try:
        started = time.perf_counter()
        subprocess.run([KUBECTL, "api-resources"], env={**env, "HOME": home},
                       capture_output=True, check=True)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    client_docker = docker.from_env()
    env = scratch_env()
    controller, kenv = _start(env)
    try:
        client = Client(Path(kenv["KUBECONFIG"]))
        rounds = 30
        with ThreadPoolExecutor(max_workers=32) as pool:
            legacy(client, pool), aggregated(client)  # warm-up
            legacy_s, aggregated_s = [], []
            for _ in range(rounds):
                legacy_s.append(legacy(client, pool))
                aggregated_s.append(aggregated(client))
        kubectl = [kubectl_cold(kenv) for _ in range(10)]
    finally:
        controller.terminate()
        controller.wait()
        remove_home(env, client_docker)
    print_results({"discovery": {
        "rounds": rounds, "legacy_ms": statistics.median(legacy_s) * 1000,
        "aggregated_ms": statistics.median(aggregated_s) * 1000,
        "aggregated_over_legacy": statistics.median(
            a / b for a, b in zip(aggregated_s, legacy_s, strict=True)),
        "kubectl_cold_api_resources_ms": statistics.median(kubectl) * 1000}})


if __name__ == "__main__":
    main()
