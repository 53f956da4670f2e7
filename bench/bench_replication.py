"""Issue 5 benchmarks: scaling an RC 0 -> 30 against the same 30 sandboxes made with the
raw Docker SDK, and the time from deleting an RC's pod to its replacement running.

The SDK's sandboxes are made twice: on Docker's default bridge, and on podctl's own pod
network, where a sandbox's start costs more (Docker's embedded DNS is set up in every
container of a user-defined network); the second is the floor for podctl's pods."""

from __future__ import annotations

import statistics
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker

from bench.bench_controller import start_controller
from bench.common import (
    PAUSE,
    PODCTL,
    podctl_network,
    print_results,
    remove_home,
    run,
    scratch_env,
)

NAMESPACE = f"bench-{uuid.uuid4().hex[:6]}"
RC_PREFIX = "web-"
RC = """
apiVersion: v1
kind: ReplicationController
metadata: {name: web}
spec:
  replicas: 0
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: web, image: podctl/kubia:1}]
"""


def running_apps(api: docker.APIClient, namespace: str = "default") -> set[str]:
    """Pod uids of running app containers of the RC's pods (names web-xxxxx)."""
    found = api.containers(filters={"label": ["io.kubernetes.docker.type=container",
                                              "io.kubernetes.container.name=web",
                                              f"io.kubernetes.pod.namespace={namespace}"]})
    return {c["Labels"]["io.kubernetes.pod.uid"] for c in found
            if c["Labels"]["io.kubernetes.pod.name"].startswith(RC_PREFIX)}


def raw_sandboxes(api: docker.APIClient, count: int, network: str | None = None) -> float:
    tag = uuid.uuid4().hex[:8]
    joins = None if network is None else api.create_networking_config(
        {network: api.create_endpoint_config()})

    def one(i: int) -> None:
        infra = api.create_container(PAUSE, name=f"bench-rc-{tag}-{i}-pause",
                                     host_config=api.create_host_config(ipc_mode="shareable",
                                                                        network_mode=network),
                                     networking_config=joins)
        api.start(infra)
        joined = f"container:{infra['Id']}"
        app = api.create_container("podctl/kubia:1", name=f"bench-rc-{tag}-{i}-web",
                                   host_config=api.create_host_config(network_mode=joined,
                                                                      ipc_mode=joined))
        api.start(app)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    for c in api.containers(all=True, filters={"name": f"bench-rc-{tag}-"}):
        api.remove_container(c["Id"], force=True)
    return elapsed


def bench_scale(client: docker.DockerClient, count: int) -> dict[str, float]:
    env = scratch_env()
    proc = start_controller(env)
    api = client.api
    try:
        run(env, "create", "namespace", NAMESPACE)
        run(env, "create", "-n", NAMESPACE, "-f", "-", stdin=RC)
        started = time.perf_counter()
        run(env, "scale", "-n", NAMESPACE, "rc", "web", f"--replicas={count}")
        while len(running_apps(api, NAMESPACE)) < count:
            time.sleep(0.05)
        podctl_s = time.perf_counter() - started
        replace = []
        for _ in range(10):
            before = running_apps(api, NAMESPACE)
            names = subprocess.run([PODCTL, "get", "pods", "-n", NAMESPACE, "-o", "name"],
                                   env=env, capture_output=True, text=True,
                                   check=True).stdout.split()
            started = time.perf_counter()
            run(env, "delete", "-n", NAMESPACE, names[0], "--now")
            while True:
                now = running_apps(api, NAMESPACE)
                if len(now) == count and now != before:
                    break
                time.sleep(0.02)
            replace.append(time.perf_counter() - started)
        run(env, "scale", "-n", NAMESPACE, "rc", "web", "--replicas=0")
        while running_apps(api, NAMESPACE):
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    sdk_s = raw_sandboxes(api, count)
    sdk_net_s = raw_sandboxes(api, count, podctl_network(api))
    return {"pods": count, "podctl_scale_s": podctl_s, "sdk_4_threads_s": sdk_s,
            "ratio": podctl_s / sdk_s, "sdk_4_threads_podctl_net_s": sdk_net_s,
            "ratio_podctl_net": podctl_s / sdk_net_s,
            "replace_median_ms": statistics.median(replace) * 1000,
            "replace_max_ms": max(replace) * 1000}


def main() -> None:
    results = {"scale": bench_scale(docker.from_env(), 30)}
    print_results(results)


if __name__ == "__main__":
    main()
