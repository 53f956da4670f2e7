"""Issue 12 benchmark: a rolling update of a 10-replica Deployment (from `set image` until
`rollout status` says it is done) against the same 10 pod replacements made with the raw
Docker SDK in the same run, one by one and with the Deployment's surge."""

from __future__ import annotations

import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker

from bench.bench_controller import start_controller
from bench.common import PAUSE, PODCTL, print_results, remove_home, run, scratch_env

REPLICAS = 10
# The default RollingUpdate strategy's 25% max surge of 10 replicas, rounded up.
SURGE = 3
GRACE = 1
OLD_IMAGE, NEW_IMAGE = "podctl/busybox:1", "podctl/kubia:1"
DEPLOYMENT = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {REPLICAS}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: {GRACE}
      containers: [{{name: web, image: {OLD_IMAGE}, command: [sleep, "3600"]}}]
"""


def rollout_done(env: dict[str, str]) -> None:
    proc = subprocess.run([PODCTL, "rollout", "status", "deployment/web", "--timeout=300s"],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0 or "successfully rolled out" not in proc.stdout:
        raise RuntimeError(f"rollout status failed: {proc.stdout}{proc.stderr}")


def pod_uids(env: dict[str, str]) -> list[str]:
    out = subprocess.run([PODCTL, "get", "pods", "-o", "jsonpath={.items[*].metadata.uid}"],
                         env=env, capture_output=True, text=True, check=True).stdout
    return out.split()


def containers_left(api: docker.APIClient, uids: list[str]) -> bool:
    return any(api.containers(all=True, filters={"label": f"io.kubernetes.pod.uid={uid}"})
               for uid in uids)


def bench_podctl(client: docker.DockerClient) -> tuple[float, float]:
    """Seconds until `rollout status` is done (terminating pods no longer count, as in
    Kubernetes) and until the old pods' containers are gone from the engine."""
    env = scratch_env()
    proc = start_controller(env)
    try:
        run(env, "create", "-f", "-", stdin=DEPLOYMENT)
        rollout_done(env)
        old = pod_uids(env)
        started = time.perf_counter()
        run(env, "set", "image", "deployment/web", f"web={NEW_IMAGE}")
        rollout_done(env)
        rolled_out = time.perf_counter() - started
        while containers_left(client.api, old):
            time.sleep(0.05)
        gone = time.perf_counter() - started
        run(env, "delete", "deployment", "web")
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    return rolled_out, gone


class RawPods:
    """Sandboxes (pause + app container) made with the Docker SDK, as the kubelet makes them."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.tag = uuid.uuid4().hex[:8]
        self.count = 0

    def create(self, image: str) -> list[str]:
        self.count += 1
        name = f"bench-deploy-{self.tag}-{self.count}"
        infra = self.api.create_container(
            PAUSE, name=f"{name}-pause",
            host_config=self.api.create_host_config(ipc_mode="shareable"))
        self.api.start(infra)
        joined = f"container:{infra['Id']}"
        app = self.api.create_container(
            image, command=["sleep", "3600"], name=f"{name}-web",
            host_config=self.api.create_host_config(network_mode=joined, ipc_mode=joined))
        self.api.start(app)
        return [app["Id"], infra["Id"]]

    def remove(self, pod: list[str]) -> None:
        # The app gets the same grace period as the Deployment's pods, then goes.
        self.api.stop(pod[0], timeout=GRACE)
        for container in pod:
            self.api.remove_container(container, force=True)

    def cleanup(self) -> None:
        for c in self.api.containers(all=True, filters={"name": f"bench-deploy-{self.tag}-"}):
            self.api.remove_container(c["Id"], force=True)


def bench_sdk(api: docker.APIClient, workers: int) -> float:
    """Replace REPLICAS running pods: each step starts a new pod, then removes an old one;
    `workers` steps at a time (1: one by one; SURGE: the Deployment's extra pods)."""
    raw = RawPods(api)
    try:
        with ThreadPoolExecutor(max_workers=SURGE) as pool:
            old = list(pool.map(lambda _: raw.create(OLD_IMAGE), range(REPLICAS)))

        def replace(pod: list[str]) -> None:
            raw.create(NEW_IMAGE)
            raw.remove(pod)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(replace, old))
        return time.perf_counter() - started
    finally:
        raw.cleanup()


def main() -> None:
    client = docker.from_env()
    podctl_s, podctl_gone_s = bench_podctl(client)
    one_by_one = bench_sdk(client.api, 1)
    surged = bench_sdk(client.api, SURGE)
    print_results({"rolling_update": {
        "replicas": REPLICAS, "max_surge": SURGE,
        "podctl_rolled_out_s": podctl_s,
        "podctl_old_removed_s": podctl_gone_s,
        "sdk_one_by_one_s": one_by_one, "sdk_surge_s": surged,
        "ratio_vs_one_by_one": podctl_s / one_by_one,
        "ratio_vs_surge": podctl_s / surged,
        "removed_ratio_vs_surge": podctl_gone_s / surged}})


if __name__ == "__main__":
    main()
