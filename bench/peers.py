"""Issue 13: podctl beside its peers, in interleaved rounds of one run.

Peers: the Docker SDK inside this process (the floor for any client of the engine), the Go
docker CLI (`docker run -d`, `docker rm -f`, `docker ps -a` on the same containers), and
Debian's podman (`podman kube play` / `podman kube down` of the same manifests, its images
loaded from the same root filesystems by scripts/ensure-podman.sh, nothing pulled). Each
round times every tool once, in turn, so that the machine's changing speed falls on all of
them alike; a ratio is taken per round and printed as min / median / max.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import docker

from bench.bench_pods import POD, raw_in_process, remove_raw
from bench.common import (
    PAUSE,
    PODCTL,
    ROOT,
    podctl_network,
    remove_home,
    run,
    scratch_env,
    timed,
)

DOCKER = shutil.which("docker") or "docker"
PODMAN = shutil.which("podman") or "podman"

# The 3-replica workload: a Deployment of one kubia container per pod.
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {{name: web, image: podctl/kubia:1{never}}}
"""


def for_podman(manifest: str) -> str:
    """The same manifest with imagePullPolicy: Never on each container: podman must find
    the loaded image and never reach for a registry."""
    return manifest.replace("image: podctl/kubia:1", "image: podctl/kubia:1, "
                            "imagePullPolicy: Never").replace(
        "image: podctl/busybox:1", "image: podctl/busybox:1, imagePullPolicy: Never")


def podman_ready() -> str | None:
    """None when podman can run the peers here, else why not (one line)."""
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-podman.sh")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else f"scripts/ensure-podman.sh exited {proc.returncode}"
    return None


def cmd(*args: str) -> float:
    """Wall time of one external command; fails loudly if it fails."""
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr}")
    return elapsed


def spread(name: str, values: list[float], unit: str = "") -> str:
    return (f"  {name:48s} min {min(values):8.2f}  median {statistics.median(values):8.2f}"
            f"  max {max(values):8.2f}{unit}")


class Rows:
    """Per-round samples (seconds) and the per-round ratios between them."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)

    def print(self, title: str, ratios: list[tuple[str, str, str]]) -> None:
        print(f"[{title}]  ({len(next(iter(self.samples.values())))} interleaved rounds)")
        for name, values in self.samples.items():
            print(spread(f"{name} ms", [v * 1000 for v in values]))
        for label, top, bottom in ratios:
            pairs = zip(self.samples[top], self.samples[bottom], strict=True)
            print(spread(label, [a / b for a, b in pairs], "x"))


Samples = dict[str, float]  # seconds by name, for one round


def measure(rounds: int, one_round: Callable[[int], tuple[Samples, ...]], *rows: Rows) -> None:
    """Round 0, which warms caches and is dropped, then `rounds` rounds; each round gives
    one set of samples per Rows, in order."""
    for i in range(rounds + 1):
        samples = one_round(i)
        if i:
            for row, taken in zip(rows, samples, strict=True):
                for key, seconds in taken.items():
                    row.add(key, seconds)


def versus(subject: str, peers: list[tuple[str, str]],
           podman: str | None) -> list[tuple[str, str, str]]:
    """Ratios of `subject` to each (short label, sample name) peer, and to podman's sample
    of that name when podman was measured."""
    if podman is not None:
        peers = [*peers, (podman, podman)]
    return [(f"podctl / {short}", subject, name) for short, name in peers]


def raw_parallel(api: docker.APIClient, tag: str, network: str | None = None) -> None:
    """The pod with the SDK in this process on podctl's schedule: the sandbox starts while
    the apps are created, then both apps start at once. With `network`, the sandbox joins
    that network as podctl's do (a user-defined bridge costs more to join than Docker's
    default one)."""
    from concurrent.futures import ThreadPoolExecutor

    joins = None if network is None else api.create_networking_config(
        {network: api.create_endpoint_config()})
    infra = api.create_container(PAUSE, name=f"bench-raw-{tag}-pause",
                                 host_config=api.create_host_config(ipc_mode="shareable",
                                                                    network_mode=network),
                                 networking_config=joins)
    joined = f"container:{infra['Id']}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        sandbox = pool.submit(api.start, infra)
        apps = [api.create_container(image, command=cmd, name=f"bench-raw-{tag}-{name}",
                                     host_config=api.create_host_config(network_mode=joined,
                                                                        ipc_mode=joined))
                for name, image, cmd in (("web", "podctl/kubia:1", None),
                                         ("side", "podctl/busybox:1", ["sleep", "3600"]))]
        sandbox.result()
        list(pool.map(api.start, apps))


def docker_pod(tag: str, side_car: bool = True) -> list[str]:
    """A pod's containers with the Go CLI: pause, then the apps joined to it (kubia, and
    the busybox side car unless told not to)."""
    pause, web, side = (f"bench-cli-{tag}-{n}" for n in ("pause", "web", "side"))
    joined = ["--network", f"container:{pause}", "--ipc", f"container:{pause}"]
    made = [(pause, ["--ipc", "shareable", PAUSE]), (web, [*joined, "podctl/kubia:1"])]
    if side_car:
        made.append((side, [*joined, "podctl/busybox:1", "sleep", "3600"]))
    for name, argv in made:
        subprocess.run([DOCKER, "run", "-d", "--name", name, *argv], check=True,
                       capture_output=True)
    return [name for name, _ in made]


def in_turn(i: int, steps: list[tuple[str, Callable[[], float]]]) -> dict[str, float]:
    """Run the steps starting with a different one each round (no tool always goes first,
    into an engine the previous one left busy); their times by name."""
    k = i % len(steps)
    times = {name: step() for name, step in steps[k:] + steps[:k]}
    return {name: times[name] for name, _ in steps}


def rounds_pod(client: docker.DockerClient, podman: bool, rounds: int) -> None:
    """The 2-container pod: create and delete with podctl, the SDK, the CLI and podman."""
    env = scratch_env()
    work = Path(tempfile.mkdtemp(prefix="podctl-peers-"))
    create, delete = Rows(), Rows()
    raw_tags: list[str] = []
    cli_names: list[str] = []

    def one_round(i: int) -> tuple[Samples, Samples]:
        name = f"peer-{i}"
        tag, tag2, tag3 = (uuid.uuid4().hex[:8] for _ in range(3))
        raw_tags.extend([tag, tag2, tag3])
        spec = work / f"pod-{i}.yaml"
        spec.write_text(for_podman(POD.format(name=f"peer-{tag}")))
        ups: list[tuple[str, Callable[[], float]]] = [
            ("podctl create -f (process)",
             lambda: run(env, "create", "-f", "-", stdin=POD.format(name=name))),
            ("SDK in-process", lambda: timed(lambda: raw_in_process(client.api, tag))),
            ("SDK in-process, apps started in parallel",
             lambda: timed(lambda: raw_parallel(client.api, tag2))),
            ("SDK, parallel apps, on podctl's network", lambda: timed(
                partial(raw_parallel, client.api, tag3, podctl_network(client.api)))),
            ("docker run -d x3 (Go CLI)",
             lambda: timed(lambda: cli_names.extend(docker_pod(tag)))),
        ]
        downs: list[tuple[str, Callable[[], float]]] = [
            ("podctl delete --grace-period=0 --force",
             lambda: run(env, "delete", "pod", name, "--grace-period=0", "--force")),
            ("docker rm -f (3 containers)", lambda: cmd(DOCKER, "rm", "-f", *cli_names[-3:])),
        ]
        if podman:
            ups.append(("podman kube play", lambda: cmd(PODMAN, "kube", "play", str(spec))))
            downs.append(("podman kube down", lambda: cmd(PODMAN, "kube", "down", str(spec))))
        made, removed = in_turn(i, ups), in_turn(i, downs)
        for each in (tag, tag2, tag3):
            remove_raw(client, each)
        return made, removed

    try:
        measure(rounds, one_round, create, delete)
    finally:
        for tag in raw_tags:
            remove_raw(client, tag)
        subprocess.run([DOCKER, "rm", "-f", *cli_names], capture_output=True)
        for spec in work.glob("*.yaml"):
            subprocess.run([PODMAN, "kube", "down", str(spec)], capture_output=True)
        remove_home(env, client)
        shutil.rmtree(work, ignore_errors=True)
    subject = "podctl create -f (process)"
    create.print("create a 2-container pod", versus(subject, [
        ("SDK in-process", "SDK in-process"),
        ("SDK in-process, parallel apps", "SDK in-process, apps started in parallel"),
        ("SDK, parallel apps, podctl's network", "SDK, parallel apps, on podctl's network"),
        ("docker run -d x3", "docker run -d x3 (Go CLI)")], "podman kube play" if podman else None))
    delete.print("delete that pod", versus(
        "podctl delete --grace-period=0 --force", [("docker rm -f", "docker rm -f (3 containers)")],
        "podman kube down" if podman else None))


def running_apps(api: docker.APIClient, namespace: str, prefix: str) -> int:
    found = api.containers(filters={"label": ["io.kubernetes.docker.type=container",
                                              f"io.kubernetes.pod.namespace={namespace}"]})
    return sum(1 for c in found if c["Labels"]["io.kubernetes.pod.name"].startswith(prefix))


def containers_of(api: docker.APIClient, namespace: str, prefix: str) -> int:
    found = api.containers(all=True, filters={"label": f"io.kubernetes.pod.namespace={namespace}"})
    return sum(1 for c in found if c["Labels"]["io.kubernetes.pod.name"].startswith(prefix))


def until(done: Callable[[], bool], limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("the workload did not settle in time")
        time.sleep(0.02)


def rounds_workload(client: docker.DockerClient, podman: bool, rounds: int) -> None:
    """A 3-replica Deployment: podctl (with its controller) until 3 pods run / all are gone,
    against `podman kube play` / `kube down` of the same manifest and six `docker run -d`."""
    from bench.bench_controller import start_controller

    env = scratch_env()
    namespace = f"peers-{uuid.uuid4().hex[:6]}"
    run(env, "create", "namespace", namespace)
    controller = start_controller(env)
    work = Path(tempfile.mkdtemp(prefix="podctl-peers-"))
    up, down = Rows(), Rows()
    cli_names: list[str] = []
    api = client.api

    def one_round(i: int) -> tuple[Samples, Samples]:
        name, tag = f"wl{i}", uuid.uuid4().hex[:8]
        spec = work / f"deploy-{i}.yaml"
        spec.write_text(DEPLOYMENT.format(name=f"wl-{tag}", never=", imagePullPolicy: Never"))

        def podctl_up() -> None:
            run(env, "create", "-n", namespace, "-f", "-",
                stdin=DEPLOYMENT.format(name=name, never=""))
            until(lambda: running_apps(api, namespace, f"{name}-") == 3)

        def cli_up() -> None:
            for r in range(3):
                cli_names.extend(docker_pod(f"{tag}{r}", side_car=False))

        def podctl_down() -> None:
            run(env, "delete", "-n", namespace, "deployment", name)
            until(lambda: containers_of(api, namespace, f"{name}-") == 0)

        ups: list[tuple[str, Callable[[], float]]] = [
            ("podctl create + 3 pods running", lambda: timed(podctl_up)),
            ("docker run -d x6 (Go CLI)", lambda: timed(cli_up))]
        downs: list[tuple[str, Callable[[], float]]] = [
            ("podctl delete deployment, containers gone", lambda: timed(podctl_down)),
            ("docker rm -f (6 containers)", lambda: cmd(DOCKER, "rm", "-f", *cli_names[-6:]))]
        if podman:
            ups.append(("podman kube play", lambda: cmd(PODMAN, "kube", "play", str(spec))))
            downs.append(("podman kube down", lambda: cmd(PODMAN, "kube", "down", str(spec))))
        return in_turn(i, ups), in_turn(i, downs)

    try:
        measure(rounds, one_round, up, down)
    finally:
        controller.terminate()
        controller.wait()
        subprocess.run([DOCKER, "rm", "-f", *cli_names], capture_output=True)
        for spec in work.glob("*.yaml"):
            subprocess.run([PODMAN, "kube", "down", str(spec)], capture_output=True)
        remove_home(env, client)
        shutil.rmtree(work, ignore_errors=True)
    up.print("3-replica Deployment up", versus(
        "podctl create + 3 pods running", [("docker run -d x6", "docker run -d x6 (Go CLI)")],
        "podman kube play" if podman else None))
    down.print("3-replica Deployment down", versus(
        "podctl delete deployment, containers gone",
        [("docker rm -f", "docker rm -f (6 containers)")], "podman kube down" if podman else None))


def rounds_get(client: docker.DockerClient, pods: int, rounds: int) -> None:
    """`get pods` with 100 pods against `docker ps -a` listing the same containers: with a
    controller running (its kubelet writes each pod's status to the store, which `get`
    reads with no engine call), and with none (`get` refreshes the status from the engine,
    one list call)."""
    from concurrent.futures import ThreadPoolExecutor

    from bench.bench_controller import start_controller
    from bench.bench_scale import settle
    from podctl.home import home_id

    env = scratch_env()
    single = POD.replace('  - {{name: side, image: podctl/busybox:1, command: [sleep, "3600"]}}\n',
                         "")
    served, alone = Rows(), Rows()
    podctl_row = f"podctl get pods ({pods} pods)"
    docker_row = "docker ps -a (same containers)"
    controller = None
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: run(env, "create", "-f", "-",
                                        stdin=single.format(name=f"many-{i}")), range(pods)))
        label = f"label=io.podctl.home={home_id(Path(env['PODCTL_HOME']))}"
        listed = subprocess.run([DOCKER, "ps", "-a", "--filter", label, "-q"],
                                capture_output=True, text=True, check=True).stdout.split()
        assert len(listed) == 2 * pods, f"docker ps -a sees {len(listed)} containers"

        def one_round(i: int) -> tuple[Samples, ...]:
            return (in_turn(i, [(podctl_row, lambda: run(env, "get", "pods")),
                                (docker_row, lambda: cmd(DOCKER, "ps", "-a", "--filter",
                                                         label))]),)

        measure(rounds, one_round, alone)
        controller = start_controller(env)
        settle_statuses(env, pods)
        settle(controller.pid)  # its start-up sync over: it idles while `get` is timed
        measure(rounds, one_round, served)
    finally:
        if controller is not None:
            controller.terminate()
            controller.wait()
        remove_home(env, client)
    ratio = [("podctl / docker ps -a", podctl_row, docker_row)]
    served.print("get pods, controller running (status read from the store; goal <= 1.5x)",
                 ratio)
    alone.print("get pods, no controller (status refreshed from the engine)", ratio)


def settle_statuses(env: dict[str, str], pods: int) -> None:
    """Until the controller's start-up sync has written every pod's status (all Running)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = subprocess.run([PODCTL, "get", "pods", "--no-headers"], env=env,
                             capture_output=True, text=True, check=True).stdout
        if out.count(" Running ") == pods:
            return
        time.sleep(0.5)
    raise RuntimeError("the controller did not write every pod Running within 120 s")


def rounds_help(rounds: int) -> None:
    """`--help` against a bare interpreter, and against one that imports click (podctl's
    command-line library). After its first run (the dropped round 0) podctl prints the
    top-level help from its cache (podctl/launch.py) without importing click."""
    rows = Rows()
    measure(rounds, lambda i: (in_turn(i, [
        ("podctl --help", lambda: cmd(PODCTL, "--help")),
        ("bare python start", lambda: cmd(sys.executable, "-c", "pass")),
        ("python -c 'import click'", lambda: cmd(sys.executable, "-c", "import click"))]),),
        rows)
    rows.print("--help", [("--help / bare python", "podctl --help", "bare python start"),
                          ("--help / python importing click", "podctl --help",
                           "python -c 'import click'")])


def main() -> None:
    client = docker.from_env()
    why = podman_ready()
    if why:
        print(f"podman peer: not measured: {why}")
    else:
        version = subprocess.run([PODMAN, "--version"], capture_output=True, text=True)
        print(f"podman peer: {version.stdout.strip()}, images loaded from docker, "
              "imagePullPolicy: Never")
    docker_version = subprocess.run([DOCKER, "version", "--format", "{{.Client.Version}}"],
                                    capture_output=True, text=True).stdout.strip()
    print(f"docker CLI peer: {DOCKER} {docker_version}", flush=True)
    rounds_pod(client, why is None, rounds=10)
    rounds_workload(client, why is None, rounds=5)
    rounds_get(client, pods=100, rounds=10)
    rounds_help(rounds=20)


if __name__ == "__main__":
    main()
