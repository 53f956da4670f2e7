"""Benchmark manifest loading + validation: one pod warm, and a 1,000-document stream.

Run: .venv/bin/python bench/bench_validate.py   (targets: one pod < 20 ms warm, 1,000 docs ≤ 1 s)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
