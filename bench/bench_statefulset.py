"""Issue 22 benchmark: a StatefulSet of 5 from nothing to all Ready (OrderedReady: each pod
made once the one before is Running and Ready, as upstream's), against its floor in the
same run: 5 pods (pause + app container) made one after another with the Docker SDK, each
with a named volume mounted, waiting for each to run before the next (`docker run -v`).
With the claim kind served the StatefulSet has a claim template, so both sides make a
volume per pod.

    .venv/bin/python -m bench.bench_statefulset     (also part of `make bench`)
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import docker

from bench.bench_controller import start_controller
from bench.common import PAUSE, PODCTL, print_results, remove_home, run, scratch_env

REPLICAS = 5
IMAGE = "podctl/busybox:1"


def manifest(with_claims: bool) -> str:
    claims = """
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}""" if with_claims else ""
    mounts = ", volumeMounts: [{name: data, mountPath: /data}]" if with_claims else ""
    return f"""
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web}}
spec:
  serviceName: web
  replicas: {REPLICAS}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: web, image: {IMAGE}, command: [sleep, "3600"]{mounts}}}]{claims}
"""


def ready_replicas(env: dict[str, str]) -> int:
    out = subprocess.run([PODCTL, "get", "sts", "web", "-o", "json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return int((json.loads(out).get("status") or {}).get("readyReplicas") or 0)


def bench_podctl(client: docker.DockerClient, with_claims: bool) -> float:
    """Seconds from `create` to readyReplicas == 5."""
    env = scratch_env()
    proc = start_controller(env)
    try:
        started = time.perf_counter()
        run(env, "create", "-f", "-", stdin=manifest(with_claims))
        while ready_replicas(env) < REPLICAS:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        run(env, "delete", "sts", "web")
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    return elapsed


def bench_sdk(api: docker.APIClient) -> float:
    """Five pods one after another, each a named volume, a pause container and an app
    container mounting the volume, the next once the app runs."""
    tag = uuid.uuid4().hex[:8]
    volumes = []
    try:
        started = time.perf_counter()
        for ordinal in range(REPLICAS):
            name = f"bench-sts-{tag}-{ordinal}"
            volume = api.create_volume(name=f"{name}-data")["Name"]
            volumes.append(volume)
            infra = api.create_container(
                PAUSE, name=f"{name}-pause",
                host_config=api.create_host_config(ipc_mode="shareable"))
            api.start(infra)
            joined = f"container:{infra['Id']}"
            app = api.create_container(
                IMAGE, command=["sleep", "3600"], name=f"{name}-web",
                host_config=api.create_host_config(network_mode=joined, ipc_mode=joined,
                                                   binds={volume: {"bind": "/data",
                                                                   "mode": "rw"}}))
            api.start(app)
            while api.inspect_container(app["Id"])["State"]["Status"] != "running":
                time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        for c in api.containers(all=True, filters={"name": f"bench-sts-{tag}-"}):
            api.remove_container(c["Id"], force=True)
        for volume in volumes:
            api.remove_volume(volume, force=True)


def main() -> None:
    from podctl.api.meta import RESOURCES

    client = docker.from_env()
    with_claims = "PersistentVolumeClaim" in RESOURCES
    podctl_s = bench_podctl(client, with_claims)
    sdk_s = bench_sdk(client.api)
    print_results({"statefulset_to_ready": {
        "replicas": REPLICAS, "claims": int(with_claims),
        "podctl_all_ready_s": podctl_s, "sdk_sequential_volumes_s": sdk_s,
        "ratio_vs_sdk": podctl_s / sdk_s}})


if __name__ == "__main__":
    main()
