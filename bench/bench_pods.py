"""Issue 2 benchmarks: create a 2-container pod, `get pods` with 100 pods, `--help`.

Each podctl figure is the wall time of a whole `podctl` process. The baseline is the same
three containers (pause + 2 apps joined to it) made with the raw Docker SDK in this run:
once inside this process (no interpreter or import cost) and once as a fresh Python process
that imports docker, which is what a CLI built on the SDK pays at least.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker

from bench.common import (
    PAUSE,
    PODCTL,
    ROOT,
    median_ms,
    p90_ms,
    print_results,
    remove_home,
    run,
    scratch_env,
    timed,
)

POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {{name: web, image: podctl/kubia:1}}
  - {{name: side, image: podctl/busybox:1, command: [sleep, "3600"]}}
"""

RAW_SDK = textwrap.dedent("""
    import sys, docker
    api = docker.APIClient(version="auto")
    tag = sys.argv[1]
    infra = api.create_container("{pause}", name="bench-raw-" + tag + "-pause",
        host_config=api.create_host_config(ipc_mode="shareable"))
    api.start(infra)
    for name, image, cmd in (("web", "podctl/kubia:1", None),
                             ("side", "podctl/busybox:1", ["sleep", "3600"])):
        joined = "container:" + infra["Id"]
        c = api.create_container(image, command=cmd, name="bench-raw-" + tag + "-" + name,
            host_config=api.create_host_config(network_mode=joined, ipc_mode=joined))
        api.start(c)
""").format(pause=PAUSE)


def raw_in_process(api: docker.APIClient, tag: str) -> list[str]:
    ids = []
    infra = api.create_container(PAUSE, name=f"bench-raw-{tag}-pause",
                                 host_config=api.create_host_config(ipc_mode="shareable"))
    api.start(infra)
    ids.append(infra["Id"])
    for name, image, cmd in (("web", "podctl/kubia:1", None),
                             ("side", "podctl/busybox:1", ["sleep", "3600"])):
        joined = f"container:{infra['Id']}"
        c = api.create_container(image, command=cmd, name=f"bench-raw-{tag}-{name}",
                                 host_config=api.create_host_config(network_mode=joined,
                                                                    ipc_mode=joined))
        api.start(c)
        ids.append(c["Id"])
    return ids


def remove_raw(client: docker.DockerClient, tag: str) -> None:
    for c in client.containers.list(all=True, filters={"name": f"bench-raw-{tag}-"}):
        c.remove(force=True)


def bench_create(client: docker.DockerClient, rounds: int) -> dict[str, float]:
    api = client.api
    env = scratch_env()
    podctl_t, sdk_t, sdk_proc_t = [], [], []
    try:
        for i in range(rounds + 1):  # the first round warms caches and is dropped
            name = f"bench-{i}"
            manifest = POD.format(name=name)
            t_podctl = run(env, "create", "-f", "-", stdin=manifest)
            tag = uuid.uuid4().hex[:8]
            t_sdk = timed(lambda tag=tag: raw_in_process(api, tag))
            tag2 = uuid.uuid4().hex[:8]
            t_proc = timed(lambda tag2=tag2: subprocess.run(
                [sys.executable, "-c", RAW_SDK, tag2], check=True))
            running = [c for c in client.containers.list(
                filters={"label": "io.podctl.managed", "name": f"_{name}_"})]
            assert len(running) == 3, "podctl create returned before all containers ran"
            run(env, "delete", "pod", name, "--grace-period=0", "--force")
            remove_raw(client, tag)
            remove_raw(client, tag2)
            if i:
                podctl_t.append(t_podctl)
                sdk_t.append(t_sdk)
                sdk_proc_t.append(t_proc)
    finally:
        remove_home(env, client)
    return {
        "podctl_ms": median_ms(podctl_t), "podctl_p90_ms": p90_ms(podctl_t),
        "sdk_in_process_ms": median_ms(sdk_t), "sdk_process_ms": median_ms(sdk_proc_t),
        "ratio_vs_sdk_in_process": median_ms(podctl_t) / median_ms(sdk_t),
        "ratio_vs_sdk_process": median_ms(podctl_t) / median_ms(sdk_proc_t),
    }


def bench_get(client: docker.DockerClient, pods: int, rounds: int) -> dict[str, float]:
    env = scratch_env()
    single = POD.replace('  - {{name: side, image: podctl/busybox:1, command: [sleep, "3600"]}}\n',
                         "")
    try:
        def make(i: int) -> float:
            return run(env, "create", "-f", "-", stdin=single.format(name=f"many-{i}"))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(make, range(pods)))
        setup = time.perf_counter() - started
        out = subprocess.run([PODCTL, "get", "pods"], env=env, capture_output=True,
                             text=True, check=True).stdout
        assert out.count("Running") == pods, out
        samples = [run(env, "get", "pods") for _ in range(rounds)]
        wide = [run(env, "get", "pods", "-o", "wide") for _ in range(rounds)]
        api = client.api
        listing = [timed(lambda: api.containers(all=True, filters={"label": "io.podctl.managed"}))
                   for _ in range(rounds)]
    finally:
        remove_home(env, client)
    return {"pods": pods, "setup_s": setup, "get_pods_ms": median_ms(samples),
            "get_pods_p90_ms": p90_ms(samples), "get_pods_wide_ms": median_ms(wide),
            "sdk_list_in_process_ms": median_ms(listing)}


def bench_dry_run(rounds: int) -> dict[str, float]:
    env = scratch_env()
    manifest = str(ROOT / "manifests" / "kubia-manual.yaml")
    samples = [run(env, "create", "--dry-run=client", "-f", manifest) for _ in range(rounds)]
    return {"create_dry_run_ms": median_ms(samples), "create_dry_run_p90_ms": p90_ms(samples)}


def bench_help(rounds: int) -> dict[str, float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([PODCTL, "--help"], capture_output=True, check=True)
        samples.append(time.perf_counter() - started)
    base = [timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
            for _ in range(rounds)]
    return {"help_ms": median_ms(samples), "python_startup_ms": median_ms(base)}


def main() -> None:
    client = docker.from_env()
    results = {
        "create": bench_create(client, rounds=10),
        "get": bench_get(client, pods=100, rounds=10),
        "help": bench_help(rounds=20),
        "dry-run": bench_dry_run(rounds=20),
    }
    print_results(results)


if __name__ == "__main__":
    main()
