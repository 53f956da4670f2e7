"""Issue 24 (server-side apply): what field management costs. In process, the median time
of `podctl.api.managedfields` on a two-container Deployment (a first apply, a re-apply that
changes a value, an Update entry); whole-process, `kubectl apply --server-side` beside
client-side `kubectl apply` of the same Deployment (replicas 0: no engine work), changing
one value each round, against one `run-controller --api`."""

from __future__ import annotations

import copy
import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import docker

from bench.bench_api import KUBECTL, _start
from bench.common import median_ms, p90_ms, print_results, remove_home, scratch_env

CONTAINER: dict[str, Any] = {
    "name": "c", "image": "podctl/busybox:1", "command": ["sleep", "3600"],
    "ports": [{"containerPort": 80, "protocol": "TCP"}],
    "env": [{"name": f"E{i}", "value": "v"} for i in range(10)],
    "resources": {"limits": {"cpu": "1"}}}


def deployment(name: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name}, "annotations": {"v": value}},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [CONTAINER,
                                                          {**CONTAINER, "name": "d"}]}}}}


def _median(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return median_ms(samples)


def bench_in_process(rounds: int) -> dict[str, float | int]:
    from podctl.api.managedfields import manager, schema
    from podctl.api.managedfields.typed import MISSING

    t = schema.type_for("apps/v1", "Deployment")
    now = "2026-01-01T00:00:00Z"
    config = deployment("x", "1")
    first = manager.apply(MISSING, config, {}, "kubectl", "apps/v1", t, now)
    changed = deployment("x", "2")
    scaled = copy.deepcopy(first.obj)
    scaled["spec"]["replicas"] = 3
    return {
        "deployment_bytes": len(json.dumps(config)),
        "apply_new_ms": _median(lambda: manager.apply(MISSING, config, {}, "kubectl",
                                                      "apps/v1", t, now), rounds),
        "apply_again_ms": _median(lambda: manager.apply(first.obj, changed, first.managed,
                                                        "kubectl", "apps/v1", t, now), rounds),
        "update_entry_ms": _median(lambda: manager.update(first.obj, scaled, first.managed,
                                                          "hpa", "apps/v1", t, now), rounds),
    }


def bench_kubectl(client: docker.DockerClient, rounds: int) -> dict[str, float | int]:
    env = scratch_env()
    proc, kenv = _start(env)

    def wall(args: list[str], body: dict[str, Any]) -> float:
        started = time.perf_counter()
        subprocess.run([KUBECTL, *args, "-f", "-"], input=json.dumps(body).encode(), env=kenv,
                       capture_output=True, check=True)
        return time.perf_counter() - started

    try:
        wall(["apply", "--server-side"], deployment("ssa", "0"))  # discovery cached
        wall(["apply"], deployment("csa", "0"))
        ssa = [wall(["apply", "--server-side"], deployment("ssa", str(i + 1)))
               for i in range(rounds)]
        csa = [wall(["apply"], deployment("csa", str(i + 1))) for i in range(rounds)]
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    return {"rounds": rounds, "kubectl_apply_server_side_ms": median_ms(ssa),
            "kubectl_apply_server_side_p90_ms": p90_ms(ssa),
            "kubectl_apply_client_side_ms": median_ms(csa),
            "kubectl_apply_client_side_p90_ms": p90_ms(csa)}


def main() -> None:
    client = docker.from_env()
    print_results({"managedfields in process (median)": bench_in_process(200),
                   "kubectl apply, whole process": bench_kubectl(client, 10)})


if __name__ == "__main__":
    main()
