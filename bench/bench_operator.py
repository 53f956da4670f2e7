"""Issue 24 benchmarks: a kopf operator against `run-controller --api` (the one the tests
run, tests/integration/operators/childmaker.py, as a user runs it: `kopf run` on the host
with the kubeconfig). The time from a parent's create returning to the operator's child
ConfigMap reaching a watch, for a custom resource and for the same operator on a built-in
kind (ConfigMaps), in the same run; and what a CEL rule costs in cel-python
(x-kubernetes-validations)."""

from __future__ import annotations

import contextlib
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import docker

from bench.bench_api import KUBECTL, _start
from bench.common import ROOT, median_ms, p90_ms, print_results, remove_home, scratch_env

KOPF = shutil.which("kopf", path=str(Path(sys.executable).parent)) or "kopf"
CHILDMAKER = ROOT / "tests" / "integration" / "operators" / "childmaker.py"
GROUP, VERSION, PLURAL = "bench.podctl.io", "v1", "parents"
CRD = f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {PLURAL}.{GROUP}}}
spec:
  group: {GROUP}
  scope: Namespaced
  names: {{plural: {PLURAL}, singular: parent, kind: Parent}}
  versions:
  - name: {VERSION}
    served: true
    storage: true
    subresources: {{status: {{}}}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
          status: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"""
LABELS = {"childmaker": "on"}


def _parent(kind: str, name: str) -> dict[str, Any]:
    md = {"name": name, "labels": LABELS}
    if kind == "ConfigMap":
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md,
                "data": {"colour": "blue"}}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Parent", "metadata": md,
            "spec": {"colour": "blue"}}


class ChildWatch:
    """A watch of ConfigMaps: when each `<parent>-child` first arrived."""

    def __init__(self, kubeconfig: str) -> None:
        import kubernetes

        self.client = kubernetes.config.new_client_from_config(kubeconfig)
        self.core = kubernetes.client.CoreV1Api(self.client)
        self.custom = kubernetes.client.CustomObjectsApi(self.client)
        self.seen: queue.Queue[tuple[float, str]] = queue.Queue()
        self.watch = kubernetes.watch.Watch()
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        import urllib3

        # The server going at the end of the run ends the stream: nothing is lost then.
        with contextlib.suppress(urllib3.exceptions.HTTPError):
            for event in self.watch.stream(self.core.list_namespaced_config_map, "default"):
                name = event["object"].metadata.name
                if event["type"] == "ADDED" and name.endswith("-child"):
                    self.seen.put((time.perf_counter(), name))

    def create(self, kind: str, name: str) -> None:
        body = _parent(kind, name)
        if kind == "ConfigMap":
            self.core.create_namespaced_config_map("default", body)
        else:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL,
                                                        body)

    def child_after(self, name: str, timeout: float = 60) -> float:
        deadline = time.perf_counter() + timeout
        while True:
            at, child = self.seen.get(timeout=max(0.1, deadline - time.perf_counter()))
            if child == f"{name}-child":
                return at

    def close(self) -> None:
        self.watch.stop()
        self.client.close()


def _latencies(watch: ChildWatch, kind: str, rounds: int) -> list[float]:
    out = []
    for i in range(-1, rounds):  # round -1 warms the operator's handler path
        name = f"{kind.lower()}-{i + 1}"
        started = time.perf_counter()
        watch.create(kind, name)
        arrived = watch.child_after(name)
        if i >= 0:
            out.append(arrived - started)
    return out


def _operator(kenv: dict[str, str], resource: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([KOPF, "run", "--standalone", "-n", "default",
                                 str(CHILDMAKER)], env={**kenv, "CHILDMAKER_RESOURCE": resource},
                                stdout=out, stderr=subprocess.STDOUT)


def _crd_served(kenv: dict[str, str]) -> str | None:
    """None once the CRD is Established, else why not."""
    made = subprocess.run([KUBECTL, "apply", "-f", "-"], input=CRD.encode(), env=kenv,
                          capture_output=True)
    if made.returncode != 0:
        return made.stderr.decode().strip().splitlines()[-1]
    ready = subprocess.run([KUBECTL, "wait", "--for=condition=Established",
                            f"crd/{PLURAL}.{GROUP}", "--timeout=30s"], env=kenv,
                           capture_output=True)
    return None if ready.returncode == 0 else ready.stderr.decode().strip()


def bench_child_latency(client: docker.DockerClient, rounds: int) -> dict[str, float | str]:
    env = scratch_env()
    proc, kenv = _start(env)
    home = Path(env["PODCTL_HOME"])
    watch = ChildWatch(kenv["KUBECONFIG"])
    results: dict[str, float | str] = {}
    try:
        for kind, resource in (("ConfigMap", "v1/configmaps"),
                               ("Parent", f"{GROUP}/{VERSION}/{PLURAL}")):
            if kind == "Parent":
                why = _crd_served(kenv)
                if why is not None:
                    results["cr_child_ms"] = f"skipped: {why}"
                    continue
            operator = _operator(kenv, resource, home / f"kopf-{kind}.log")
            try:
                samples = _latencies(watch, kind, rounds)
            finally:
                operator.terminate()
                operator.wait(timeout=30)
            key = "configmap" if kind == "ConfigMap" else "cr"
            results[f"{key}_child_ms"] = median_ms(samples)
            results[f"{key}_child_p90_ms"] = p90_ms(samples)
        if isinstance(results.get("cr_child_ms"), float):
            results["cr_over_configmap"] = float(results["cr_child_ms"]) / float(
                results["configmap_child_ms"])
    finally:
        watch.close()
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    return results


def bench_cel(rounds: int) -> dict[str, float]:
    """cel-python's cost for x-kubernetes-validations: a fresh interpreter's import, the
    parser's construction, one rule's compile, and one validate() of a simple rule and of a
    rule over a list of 100 items."""
    imported = subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); import celpy; "
         "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True)
    from podctl.api import cel

    simple = {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.minReplicas <= self.replicas && self.replicas <= self.maxReplicas"}]}
    ports = {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.ports.all(p, p.port > 0 && p.port < 65536)"}]}
    obj = {"replicas": 2, "minReplicas": 1, "maxReplicas": 3,
           "ports": [{"name": f"p{i}", "port": 1000 + i} for i in range(100)]}
    started = time.perf_counter()
    cel._environment()  # cel-python builds its parser (Lark) once per process
    environment = time.perf_counter() - started
    started = time.perf_counter()
    cel._program("self.replicas > 0 && self.name.startsWith('x')")
    compiled = time.perf_counter() - started
    timings = {}
    for name, schema in (("simple", simple), ("list_of_100", ports)):
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            assert cel.validate(schema, obj, path="spec").errors == []
            samples.append(time.perf_counter() - started)
        timings[f"eval_{name}_ms"] = median_ms(samples)
    return {"import_celpy_ms": float(imported.stdout) * 1000,
            "first_environment_ms": environment * 1000, "compile_rule_ms": compiled * 1000,
            **timings}


def main() -> None:
    client = docker.from_env()
    print_results({"operator child latency (kopf)": bench_child_latency(client, rounds=20),
                   "cel-python": bench_cel(rounds=200)})


if __name__ == "__main__":
    main()
