"""Issue 24: whole-process `kubectl get crontabs` at 1000 custom resources against
`kubectl get pods` at 1000 pods, through the same `run-controller --api`, in the same run
(and `podctl get` of each beside them). The pods are bound to a Node registered through the
API alone, which no kubelet here runs: both lists are the API's read of stored objects, as
the comparison asks, without 1000 containers on the engine."""

from __future__ import annotations

import subprocess
import sys

import docker

from bench.bench_api import KUBECTL, _start, _wall
from bench.common import PODCTL, ROOT, median_ms, p90_ms, print_results, remove_home, scratch_env

NODE = """{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "bench-fake-node"}}"""
POD = """---
apiVersion: v1
kind: Pod
metadata: {{name: many-{i}}}
spec:
  nodeName: bench-fake-node
  containers: [{{name: web, image: podctl/busybox:1}}]
"""
CRONTAB = """---
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {{name: many-{i}}}
spec: {{cronSpec: "* * * * */5", image: my-awesome-cron-image}}
"""
CHUNK = 250  # objects per kubectl create: each is one process making them in turn


def _create(kenv: dict[str, str], template: str, count: int) -> None:
    for start in range(0, count, CHUNK):
        manifest = "".join(template.format(i=i) for i in range(start, min(count, start + CHUNK)))
        subprocess.run([KUBECTL, "create", "-f", "-"], input=manifest.encode(), env=kenv,
                       capture_output=True, check=True)


def bench_get(client: docker.DockerClient, count: int, rounds: int) -> dict[str, float | int]:
    env = scratch_env()
    proc, kenv = _start(env)
    try:
        subprocess.run([KUBECTL, "create", "-f", "-"], input=NODE.encode(), env=kenv,
                       capture_output=True, check=True)
        subprocess.run([KUBECTL, "apply", "-f", str(ROOT / "manifests" / "crontab-crd.yaml")],
                       env=kenv, capture_output=True, check=True)
        subprocess.run([KUBECTL, "wait", "--for=condition=Established", "--timeout=30s",
                        "crd/crontabs.stable.example.com"], env=kenv, capture_output=True,
                       check=True)
        _create(kenv, POD, count)
        _create(kenv, CRONTAB, count)
        for kind in ("pods", "crontabs"):  # discovery cached, as in daily use
            _wall([KUBECTL, "get", kind], kenv)
        times: dict[str, list[float]] = {"kubectl_crontabs": [], "kubectl_pods": [],
                                         "podctl_crontabs": [], "podctl_pods": []}
        for i in range(rounds):  # interleaved, each first half of the time
            order = ["crontabs", "pods"] if i % 2 == 0 else ["pods", "crontabs"]
            for kind in order:
                times[f"kubectl_{kind}"].append(_wall([KUBECTL, "get", kind], kenv))
                times[f"podctl_{kind}"].append(_wall([PODCTL, "get", kind], env))
        rows = subprocess.run([KUBECTL, "get", "crontabs", "--no-headers"], env=kenv,
                              capture_output=True, text=True, check=True).stdout.count("\n")
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    out: dict[str, float | int] = {"objects": count, "crontab_rows": rows}
    for name, samples in times.items():
        out[f"{name}_ms"] = median_ms(samples)
        out[f"{name}_p90_ms"] = p90_ms(samples)
    out["kubectl_crontabs_over_pods"] = round(
        out["kubectl_crontabs_ms"] / out["kubectl_pods_ms"], 2)
    return out


def main(count: int = 1000) -> None:
    print_results({"get": bench_get(docker.from_env(), count=count, rounds=10)})


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
