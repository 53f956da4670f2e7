"""Benchmark manifest loading + validation: one pod warm, and a 1,000-document stream.

Run: .venv/bin/python bench/bench_validate.py   (targets: one pod < 20 ms warm, 1,000 docs ≤ 1 s)

It also times jsonschema (a dev dependency, the tests' oracle) on the same pod against the
upstream strict schema, to show why the runtime uses the generated walker.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

POD = """apiVersion: v1
kind: Pod
metadata:
  name: kubia-{i}
  labels:
    app: kubia
    tier: web
spec:
  containers:
  - name: kubia
    image: podctl/kubia:1
    ports:
    - containerPort: 8080
      name: http
    env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    livenessProbe:
      httpGet:
        path: /
        port: 8080
      initialDelaySeconds: 15
    resources:
      limits:
        cpu: 500m
        memory: 128Mi
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    emptyDir: {{}}
"""
RC = """apiVersion: v1
kind: ReplicationController
metadata:
  name: kubia-rc-{i}
spec:
  replicas: 3
  selector:
    app: kubia
  template:
    metadata:
      labels:
        app: kubia
    spec:
      containers:
      - name: kubia
        image: podctl/kubia:1
        ports:
        - containerPort: 8080
"""


# A fresh process, as each `podctl create` is: the YAML parser and the API-server rules are
# imported first (podctl needs them either way), then the clock runs from there to the first
# schema verdict on one pod: the generated walker, or jsonschema with the upstream strict schema.
COLD_WALKER = """
import json, sys, time
import podctl.manifest
t = time.perf_counter()
from podctl.manifest.schema import validate_structure
assert validate_structure(json.loads(sys.argv[1]), "Pod") == []
print((time.perf_counter() - t) * 1000)
"""
COLD_JSONSCHEMA = """
import json, pathlib, sys, time
import podctl.manifest
t = time.perf_counter()
import jsonschema, referencing
base = pathlib.Path(sys.argv[2])
defs = referencing.Resource.from_contents(json.loads((base / "_definitions.json").read_text()))
pod = json.loads((base / "pod-v1.json").read_text())
validator = jsonschema.Draft202012Validator(pod, registry=defs @ referencing.Registry())
assert not list(validator.iter_errors(json.loads(sys.argv[1])))
print((time.perf_counter() - t) * 1000)
"""


def _median_ms(fn: Callable[[], object], n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def jsonschema_comparison(obj: dict[str, Any]) -> None:
    """Print the walker's and jsonschema's cost for one pod, warm and in a fresh process."""
    import jsonschema
    import kubernetes_validate
    import referencing

    from podctl.manifest.schema import load_schema, validate_structure

    version = load_schema().version
    strict = f"v{version}-local-strict"
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / strict
    defs = json.loads((base / "_definitions.json").read_text())
    pod = json.loads((base / "pod-v1.json").read_text())
    registry = referencing.Resource.from_contents(defs) @ referencing.Registry()
    validator = jsonschema.Draft202012Validator(pod, registry=registry)
    assert not list(validator.iter_errors(obj)) and not validate_structure(obj, "Pod")
    walker = _median_ms(lambda: validate_structure(obj, "Pod"), 500)
    oracle = _median_ms(lambda: list(validator.iter_errors(obj)), 500)
    per_call = _median_ms(lambda: kubernetes_validate.validate(obj, version, strict=True), 20)
    arg = json.dumps(obj)

    def cold(script: str) -> float:
        runs = [
            float(
                subprocess.run(
                    [sys.executable, "-c", script, arg, str(base)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(5)
        ]
        return statistics.median(runs)

    print(
        f"schema check of one pod, warm (median): walker {walker:.3f} ms, "
        f"jsonschema compiled once {oracle:.3f} ms, "
        f"kubernetes_validate.validate {per_call:.1f} ms (reads the schemas per call)"
    )
    print(
        f"first schema check in a fresh process, its imports and schema load included "
        f"(median of 5): "
        f"walker {cold(COLD_WALKER):.1f} ms, jsonschema {cold(COLD_JSONSCHEMA):.1f} ms"
    )


def stream(n: int) -> str:
    """A multi-document stream of n objects (4 pods : 1 RC)."""
    return "---\n".join((RC if i % 5 == 4 else POD).format(i=i) for i in range(n))


def main() -> int:
    """Print the numbers."""
    t0 = time.perf_counter()
    from podctl.manifest import check_document
    from podctl.manifest.load import parse_text

    import_ms = (time.perf_counter() - t0) * 1000
    one = POD.format(i=0)
    samples = []
    for _ in range(200):
        t = time.perf_counter()
        result = parse_text(one, "pod.yaml")
        checked = check_document(result.documents[0])
        samples.append((time.perf_counter() - t) * 1000)
        assert checked.obj is not None, checked.problems
    text = stream(1000)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        result = parse_text(text, "stream.yaml")
        problems = sum(len(check_document(d).problems) for d in result.documents)
        runs.append(time.perf_counter() - t)
        assert len(result.documents) == 1000 and problems == 0
    cold = (
        subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import podctl.manifest"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stderr.strip()
        .splitlines()[-1]
    )
    print(f"import podctl.manifest (in process): {import_ms:.1f} ms")
    print(f"import podctl.manifest (-X importtime, cumulative us): {cold.split('|')[1].strip()}")
    print(
        f"one pod, load+check warm: median {statistics.median(samples):.2f} ms, "
        f"max {max(samples):.2f} ms (target < 20 ms)"
    )
    print(
        f"1,000-document stream ({len(text) // 1024} KiB), load+check: "
        f"best {min(runs):.3f} s, worst {max(runs):.3f} s (target <= 1 s)"
    )
    jsonschema_comparison(parse_text(one, "pod.yaml").documents[0].obj)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
