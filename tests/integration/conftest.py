"""Integration fixtures: real podctl processes against the real Docker engine.

Every test gets its own $PODCTL_HOME, so tests run in parallel without seeing each other;
teardown removes every container and volume of the pods that home knew about, and the
network that reserved its service range.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.session import track_home

PAUSE_IMAGE = os.environ.get("PODCTL_PAUSE_IMAGE", "podctl/pause:1.0")
KUBIA_IMAGE = "podctl/kubia:1"
BUSYBOX_IMAGE = "podctl/busybox:1"
PODCTL = shutil.which("podctl", path=str(Path(sys.executable).parent)) or "podctl"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()
    for image in (PAUSE_IMAGE, KUBIA_IMAGE, BUSYBOX_IMAGE):
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"image {image} is missing: run `make images`")
    yield client
    client.close()


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"


class Podctl:
    """Runs the real `podctl` command with this test's home."""

    def __init__(self, home: Path, tmp: Path) -> None:
        from podctl.home import home_id

        self.home = home
        self.tmp = tmp
        self.homeid = home_id(home)
        track_home(self.homeid)
        self.env = dict(os.environ, PODCTL_HOME=str(home), PODCTL_PAUSE_IMAGE=PAUSE_IMAGE)
        self.env.pop("PODCTL_VERBOSE", None)

    def run(self, *args: str, input: str | None = None, timeout: float = 120,
            env: dict[str, str] | None = None) -> Result:
        proc = subprocess.run(
            [PODCTL, *args], input=input, capture_output=True, text=True, timeout=timeout,
            env={**self.env, **(env or {})},
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def __call__(self, *args: str, input: str | None = None, timeout: float = 120) -> str:
        """Run and require success; the stdout."""
        result = self.run(*args, input=input, timeout=timeout)
        assert result.code == 0, str(result)
        return result.out

    def apply_yaml(self, text: str, *extra: str) -> str:
        path = self.tmp / f"manifest-{uuid.uuid4().hex[:8]}.yaml"
        path.write_text(text)
        return self("create", "-f", str(path), *extra)

    def pod_json(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return dict(json.loads(self("get", "pod", name, "-n", namespace, "-o", "json")))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30,
                 message: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {message}")

    def pod_uids(self) -> list[str]:
        db = self.home / "store.db"
        if not db.exists():
            return []
        with sqlite3.connect(db) as conn:
            return [r[0] for r in conn.execute("SELECT uid FROM objects WHERE kind='Pod'")]


@pytest.fixture
def podctl(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[Podctl]:
    home = tmp_path / "home"
    tool = Podctl(home, tmp_path)
    yield tool
    remove_home(home)


def remove_home(home: Path) -> None:
    """What `podctl reset` removes from the engine: the home's rules (when its store says it
    may have some) and everything labelled with it. Its controllers are stopped by then (the
    `controller` fixture). The shared pod network stays until the session ends: other
    tests' homes, starting in parallel, may be about to put their first pod on it."""
    from podctl.controllers.podnetwork import remove_home_routes
    from podctl.home import home_id
    from podctl.ops.reset import remove_rules
    from podctl.runtime import engines, leftovers

    homeid = home_id(home)
    if (home / "store.db").exists():
        remove_rules(home, homeid)
    remove_home_routes(homeid)  # through the host's agent, before it goes
    leftovers.remove(leftovers.find(homeid))  # node containers and their volumes too
    shutil.rmtree(engines.home_sockets(homeid), ignore_errors=True)


def remove_home_networks(client: docker.DockerClient, home: Path) -> None:
    """The home's service range (a Docker network reserving its /24 of cluster IPs)."""
    from podctl.home import home_id

    for network in client.networks.list(filters={"label": f"io.podctl.home={home_id(home)}"}):
        network.remove()


def remove_pod_leftovers(client: docker.DockerClient, uid: str) -> None:
    label = f"io.kubernetes.pod.uid={uid}"
    for container in client.containers.list(all=True, filters={"label": label}):
        container.remove(force=True)
    for volume in client.volumes.list(filters={"label": label}):
        volume.remove(force=True)


def containers_of(client: docker.DockerClient, uid: str) -> list[Any]:
    """The pod's containers. The SDK lists, then inspects each: one the controller removes
    in between (garbage collection of a dead sandbox) is simply listed again."""
    while True:
        try:
            return list(client.containers.list(
                all=True, filters={"label": f"io.kubernetes.pod.uid={uid}"}))
        except docker.errors.NotFound:
            continue


def answers(url: str) -> bool:
    """Whether an HTTP server answers at url yet."""
    try:
        http_get(url, timeout=1)
        return True
    except OSError:
        return False


def http_get(url: str, timeout: float = 5) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())


class ControllerProcess:
    """A `podctl run-controller` in the foreground, as a user runs it in a terminal: with
    its default resync (30 s), so every reaction a test sees within its timeouts comes from
    events, not from polling."""

    def __init__(self, podctl: Podctl, args: tuple[str, ...] = ()) -> None:
        self.log = podctl.tmp / f"controller-{uuid.uuid4().hex[:6]}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [PODCTL, "run-controller", *args],
                env=podctl.env, stdout=subprocess.DEVNULL, stderr=log,
            )

    def wait_log(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text():
                return
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not in controller log:\n{self.log.read_text()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def controller(podctl: Podctl) -> Iterator[Callable[..., ControllerProcess]]:
    """Start controllers on demand; every one is stopped at teardown."""
    started: list[ControllerProcess] = []

    def start(*args: str) -> ControllerProcess:
        """A controller with these flags besides the defaults (short node grace periods)."""
        process = ControllerProcess(podctl, args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
