"""Issue 22 benchmark: write throughput into a claim (a pod's persistentVolumeClaim, on the
volume the default class provisions) against a plain Docker named volume (`docker run -v`),
in the same run, rounds alternating. Each write is `dd` of MB_PER_WRITE MiB with an fsync,
timed inside its container the same way (/proc/uptime, 10 ms), so neither side pays for
`exec`; the ratio of the medians is the claim's share of the plain volume's speed."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
import uuid
from typing import Any

import docker

from bench.bench_controller import start_controller
from bench.common import PODCTL, print_results, remove_home, run, scratch_env

BUSYBOX = "podctl/busybox:1"
MB_PER_WRITE = int(os.environ.get("PODCTL_BENCH_WRITE_MB", "1024"))
ROUNDS = int(os.environ.get("PODCTL_BENCH_WRITE_ROUNDS", "5"))
# Seconds (two decimals) the dd took, measured inside the container.
WRITE = ("a=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero of=/data/bench bs=1M "
         "count={mb} conv=fsync 2>/dev/null; b=$(cut -d' ' -f1 /proc/uptime); rm -f "
         "/data/bench; echo $a $b")
CLAIMED = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: bench}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: writer}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {image}
    command: ["sleep", "3600"]
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: bench}}
"""


def _seconds(output: str) -> float:
    start, end = (float(x) for x in output.split())
    return max(end - start, 0.01)


def _podctl_write(env: dict[str, str]) -> float:
    out = subprocess.run([PODCTL, "exec", "writer", "--", "sh", "-c",
                          WRITE.format(mb=MB_PER_WRITE)], env=env, capture_output=True,
                         text=True, check=True).stdout
    return MB_PER_WRITE / _seconds(out)


def _docker_write(container: Any) -> float:
    code, out = container.exec_run(["sh", "-c", WRITE.format(mb=MB_PER_WRITE)])
    assert code == 0, out
    return MB_PER_WRITE / _seconds(out.decode())


def _running(env: dict[str, str]) -> bool:
    proc = subprocess.run([PODCTL, "get", "pod", "writer", "-o", "json"], env=env,
                          capture_output=True, text=True)
    return proc.returncode == 0 and json.loads(proc.stdout)["status"].get("phase") == "Running"


def bench(client: docker.DockerClient) -> dict[str, float | int]:
    env = scratch_env()
    controller = start_controller(env)
    volume = client.volumes.create(f"podctl-bench-{uuid.uuid4().hex[:8]}")
    plain = client.containers.run(BUSYBOX, ["sleep", "3600"], detach=True, remove=True,
                                  volumes={volume.name: {"bind": "/data", "mode": "rw"}})
    try:
        run(env, "apply", "-f", "-", stdin=CLAIMED.format(image=BUSYBOX))
        deadline = time.monotonic() + 120
        while not _running(env):
            if time.monotonic() > deadline:
                raise RuntimeError("the claim's pod did not start")
            time.sleep(0.2)
        claimed, docker_volume = [], []
        for _ in range(ROUNDS):
            claimed.append(_podctl_write(env))
            docker_volume.append(_docker_write(plain))
        claim_mbs, plain_mbs = statistics.median(claimed), statistics.median(docker_volume)
        return {"MiB per write": MB_PER_WRITE, "rounds": ROUNDS,
                "claim MiB/s (median)": claim_mbs, "docker volume MiB/s (median)": plain_mbs,
                "claim / docker volume": claim_mbs / plain_mbs}
    finally:
        plain.remove(force=True)
        controller.terminate()
        controller.wait(timeout=30)
        remove_home(env, client)  # the pod's containers, then the claim's volume
        volume.remove(force=True)


def main() -> None:
    client = docker.from_env()
    print_results({"write throughput: claim vs plain Docker volume": bench(client)})


if __name__ == "__main__":
    main()
