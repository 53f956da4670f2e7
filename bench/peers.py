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
from pathlib import Path

import docker

from bench.bench_pods import POD, raw_in_process, remove_raw
from bench.common import PAUSE, PODCTL, ROOT, remove_home, run, scratch_env, timed

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


def raw_parallel(api: docker.APIClient, tag: str) -> None:
    """The pod with the SDK in this process on podctl's schedule: the sandbox starts while
    the apps are created, then both apps start at once."""
    from concurrent.futures import ThreadPoolExecutor

    infra = api.create_container(PAUSE, name=f"bench-raw-{tag}-pause",
                                 host_config=api.create_host_config(ipc_mode="shareable"))
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


def rounds_pod(client: docker.DockerClient, podman: bool, rounds: int) -> None:
    """The 2-container pod: create and delete with podctl, the SDK, the CLI and podman."""
    env = scratch_env()
    work = Path(tempfile.mkdtemp(prefix="podctl-peers-"))
    create, delete = Rows(), Rows()
    raw_tags: list[str] = []
    cli_names: list[str] = []
    podman_files: list[Path] = []
    try:
        for i in range(rounds + 1):  # round 0 warms caches and is dropped
            name, tag = f"peer-{i}", uuid.uuid4().hex[:8]
            manifest = POD.format(name=name)
            t_podctl = run(env, "create", "-f", "-", stdin=manifest)
            raw_tags.append(tag)
            t_sdk = timed(lambda tag=tag: raw_in_process(client.api, tag))
            tag2 = uuid.uuid4().hex[:8]
            raw_tags.append(tag2)
            t_sdk_par = timed(lambda tag2=tag2: raw_parallel(client.api, tag2))
            t_cli = timed(lambda tag=tag: cli_names.extend(docker_pod(tag)))
            if podman:
                spec = work / f"pod-{i}.yaml"
                spec.write_text(for_podman(POD.format(name=f"peer-{tag}")))
                podman_files.append(spec)
                t_play = cmd(PODMAN, "kube", "play", str(spec))
            d_podctl = run(env, "delete", "pod", name, "--grace-period=0", "--force")
            d_cli = cmd(DOCKER, "rm", "-f", *cli_names[-3:])
            if podman:
                d_down = cmd(PODMAN, "kube", "down", str(spec))
            if i:
                create.add("podctl create -f (process)", t_podctl)
                create.add("SDK in-process", t_sdk)
                create.add("SDK in-process, apps started in parallel", t_sdk_par)
                create.add("docker run -d x3 (Go CLI)", t_cli)
                delete.add("podctl delete --grace-period=0 --force", d_podctl)
                delete.add("docker rm -f (3 containers)", d_cli)
                if podman:
                    create.add("podman kube play", t_play)
                    delete.add("podman kube down", d_down)
    finally:
        for tag in raw_tags:
            remove_raw(client, tag)
        subprocess.run([DOCKER, "rm", "-f", *cli_names], capture_output=True)
        for spec in podman_files:
            subprocess.run([PODMAN, "kube", "down", str(spec)], capture_output=True)
        remove_home(env, client)
        shutil.rmtree(work, ignore_errors=True)
    ratios = [("podctl / SDK in-process", "podctl create -f (process)", "SDK in-process"),
              ("podctl / SDK in-process, parallel apps", "podctl create -f (process)",
               "SDK in-process, apps started in parallel"),
              ("podctl / docker run -d x3", "podctl create -f (process)",
               "docker run -d x3 (Go CLI)")]
    if podman:
        ratios.append(("podctl / podman kube play", "podctl create -f (process)",
                       "podman kube play"))
    create.print("create a 2-container pod", ratios)
    ratios = [("podctl / docker rm -f", "podctl delete --grace-period=0 --force",
               "docker rm -f (3 containers)")]
    if podman:
        ratios.append(("podctl / podman kube down", "podctl delete --grace-period=0 --force",
                       "podman kube down"))
    delete.print("delete that pod", ratios)


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
    podman_files: list[Path] = []
    cli_names: list[str] = []
    api = client.api
    try:
        for i in range(rounds + 1):
            name, tag = f"wl{i}", uuid.uuid4().hex[:8]
            manifest = DEPLOYMENT.format(name=name, never="")

            def podctl_up(name: str = name, manifest: str = manifest) -> None:
                run(env, "create", "-n", namespace, "-f", "-", stdin=manifest)
                until(lambda: running_apps(api, namespace, f"{name}-") == 3)

            def cli_up(tag: str = tag) -> None:
                for r in range(3):
                    cli_names.extend(docker_pod(f"{tag}{r}", side_car=False))

            t_podctl = timed(podctl_up)
            t_cli = timed(cli_up)
            if podman:
                spec = work / f"deploy-{i}.yaml"
                spec.write_text(DEPLOYMENT.format(name=f"wl-{tag}",
                                                  never=", imagePullPolicy: Never"))
                podman_files.append(spec)
                t_play = cmd(PODMAN, "kube", "play", str(spec))

            def podctl_down(name: str = name) -> None:
                run(env, "delete", "-n", namespace, "deployment", name)
                until(lambda: containers_of(api, namespace, f"{name}-") == 0)

            d_podctl = timed(podctl_down)
            d_cli = cmd(DOCKER, "rm", "-f", *cli_names[-6:])
            if podman:
                d_down = cmd(PODMAN, "kube", "down", str(spec))
            if i:
                up.add("podctl create + 3 pods running", t_podctl)
                up.add("docker run -d x6 (Go CLI)", t_cli)
                down.add("podctl delete deployment, containers gone", d_podctl)
                down.add("docker rm -f (6 containers)", d_cli)
                if podman:
                    up.add("podman kube play", t_play)
                    down.add("podman kube down", d_down)
    finally:
        controller.terminate()
        controller.wait()
        subprocess.run([DOCKER, "rm", "-f", *cli_names], capture_output=True)
        for spec in podman_files:
            subprocess.run([PODMAN, "kube", "down", str(spec)], capture_output=True)
        remove_home(env, client)
        shutil.rmtree(work, ignore_errors=True)
    ratios = [("podctl / docker run -d x6", "podctl create + 3 pods running",
               "docker run -d x6 (Go CLI)")]
    if podman:
        ratios.append(("podctl / podman kube play", "podctl create + 3 pods running",
                       "podman kube play"))
    up.print("3-replica Deployment up", ratios)
    ratios = [("podctl / docker rm -f", "podctl delete deployment, containers gone",
               "docker rm -f (6 containers)")]
    if podman:
        ratios.append(("podctl / podman kube down", "podctl delete deployment, containers gone",
                       "podman kube down"))
    down.print("3-replica Deployment down", ratios)


def rounds_get(client: docker.DockerClient, pods: int, rounds: int) -> None:
    """`get pods` with 100 pods against `docker ps -a` listing the same containers."""
    from concurrent.futures import ThreadPoolExecutor

    from podctl.home import home_id

    env = scratch_env()
    single = POD.replace('  - {{name: side, image: podctl/busybox:1, command: [sleep, "3600"]}}\n',
                         "")
    rows = Rows()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: run(env, "create", "-f", "-",
                                        stdin=single.format(name=f"many-{i}")), range(pods)))
        label = f"label=io.podctl.home={home_id(Path(env['PODCTL_HOME']))}"
        listed = subprocess.run([DOCKER, "ps", "-a", "--filter", label, "-q"],
                                capture_output=True, text=True, check=True).stdout.split()
        assert len(listed) == 2 * pods, f"docker ps -a sees {len(listed)} containers"
        for i in range(rounds + 1):
            t_get = run(env, "get", "pods")
            t_ps = cmd(DOCKER, "ps", "-a", "--filter", label)
            if i:
                rows.add(f"podctl get pods ({pods} pods)", t_get)
                rows.add("docker ps -a (same containers)", t_ps)
    finally:
        remove_home(env, client)
    rows.print("get pods", [("podctl / docker ps -a", f"podctl get pods ({pods} pods)",
                             "docker ps -a (same containers)")])


def rounds_help(rounds: int) -> None:
    """`--help` against a bare interpreter, and against one that imports click (podctl's
    command-line library, which `--help` cannot do without)."""
    rows = Rows()
    for i in range(rounds + 1):
        t_help = cmd(PODCTL, "--help")
        t_python = cmd(sys.executable, "-c", "pass")
        t_click = cmd(sys.executable, "-c", "import click")
        if i:
            rows.add("podctl --help", t_help)
            rows.add("bare python start", t_python)
            rows.add("python -c 'import click'", t_click)
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
