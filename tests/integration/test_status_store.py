"""Pod status is the kubelet's write to the store: with a controller running `get` and
`describe` read it without one engine call (counted by a socket in front of the real
engine), watches see each change as a MODIFIED event with its own resourceVersion, and a
PATCH or PUT of a pod answers its real status."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from .conftest import Podctl, containers_of
from .test_api_kubectl import MANIFESTS, ApiController
from .test_controller import Start

REQUEST_LINE = re.compile(rb"(?:GET|POST|PUT|DELETE|HEAD) /\S* HTTP/1\.[01]\r\n")
ENGINE = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


class EngineCounter:
    """A unix socket in front of the Docker engine that passes every byte through and
    counts the connections and the API requests made through it; `down` makes the engine
    vanish for whoever uses this socket (connections cut, socket gone), `up` brings it
    back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = ENGINE.removeprefix("unix://")
        self.connections = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.up()

    def up(self) -> None:
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(64)
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def down(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
        with self._lock:
            cut, self._open = self._open, []
        for end in cut:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": f"unix://{self.path}"}

    def calls(self) -> tuple[int, int]:
        with self._lock:
            return self.connections, self.requests

    def reset(self) -> None:
        with self._lock:
            self.connections = self.requests = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.engine)
            with self._lock:
                self.connections += 1
                self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False),
                             daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, counting: bool) -> None:
        tail = b""
        try:
            while chunk := source.recv(1 << 16):
                if counting:
                    seen = tail + chunk
                    with self._lock:
                        self.requests += len(REQUEST_LINE.findall(seen)) - len(
                            REQUEST_LINE.findall(tail))
                    tail = seen[-64:]
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def counter(tmp_path: Path) -> Iterator[EngineCounter]:
    # A short path: a unix socket's path is limited to 107 bytes.
    path = Path("/tmp") / f"podctl-count-{os.getpid()}-{abs(hash(tmp_path)) % 10**8}.sock"
    proxy = EngineCounter(path)
    yield proxy
    proxy.close()
    path.unlink(missing_ok=True)


def counted(podctl: Podctl, counter: EngineCounter, *args: str) -> tuple[str, int]:
    """Run a podctl command whose engine is the counter; its stdout and requests made."""
    counter.reset()
    result = podctl.run(*args, env=counter.env)
    assert result.code == 0, str(result)
    return result.out, counter.calls()[1]


def stored_status(podctl: Podctl, name: str) -> dict[str, Any]:
    """The status as the store holds it, read from the database itself."""
    with sqlite3.connect(podctl.home / "store.db") as db:
        row = db.execute("SELECT data FROM objects WHERE kind='Pod' AND name=?",
                         (name,)).fetchone()
    return dict(json.loads(row[0])["status"])


def restarts(podctl: Podctl, name: str) -> int:
    statuses = podctl.pod_json(name)["status"].get("containerStatuses") or [{}]
    return int(statuses[0].get("restartCount", 0))


def test_get_and_describe_read_what_the_kubelet_wrote_with_no_engine_call(
        podctl: Podctl, controller: Start, counter: EngineCounter,
        docker_client: docker.DockerClient) -> None:
    running = controller()
    podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
    podctl.wait_for(lambda: stored_status(podctl, "kubia-manual").get("phase") == "Running"
                    and stored_status(podctl, "kubia-manual")["containerStatuses"][0]["ready"],
                    timeout=60, message="the kubelet to write Running")
    out, calls = counted(podctl, counter, "get", "pods")
    assert out.splitlines()[1].split()[:4] == ["kubia-manual", "1/1", "Running", "0"]
    assert calls == 0
    out, calls = counted(podctl, counter, "get", "pod", "kubia-manual", "-o", "json")
    assert json.loads(out)["status"] == stored_status(podctl, "kubia-manual")
    assert calls == 0
    out, calls = counted(podctl, counter, "describe", "pod", "kubia-manual")
    assert ["Status:", "Running"] in [line.split() for line in out.splitlines()]
    assert calls == 0

    # A container that dies and is restarted: the kubelet's next write, read with no call.
    uid = podctl.pod_json("kubia-manual")["metadata"]["uid"]
    app = next(c for c in containers_of(docker_client, uid)
               if c.labels.get("io.kubernetes.docker.type") == "container")
    app.kill()
    podctl.wait_for(lambda: restarts(podctl, "kubia-manual") == 1, timeout=60,
                    message="restartCount 1")
    out, calls = counted(podctl, counter, "get", "pods")
    assert out.splitlines()[1].split()[3] == "1" and calls == 0

    # The count is real: with no controller the CLI refreshes the status from the engine.
    running.stop()
    out, calls = counted(podctl, counter, "get", "pods")
    assert out.splitlines()[1].split()[:3] == ["kubia-manual", "1/1", "Running"]
    assert calls >= 1


def test_watch_sees_each_status_change_as_its_own_version_and_writes_answer_it(
        podctl: Podctl) -> None:
    from kubernetes import client, config, watch

    api = ApiController(podctl)
    try:
        config.load_kube_config(config_file=str(api.kubeconfig))
        core = client.CoreV1Api()
        listed = core.list_namespaced_pod("default")
        events: queue.Queue[tuple[str, str, str, bool, bool]] = queue.Queue()
        watcher = watch.Watch()

        def follow() -> None:
            for event in watcher.stream(core.list_namespaced_pod, "default",
                                        resource_version=listed.metadata.resource_version,
                                        timeout_seconds=90):
                pod = event["object"]
                ready = any(c.type == "Ready" and c.status == "True"
                            for c in pod.status.conditions or [])
                events.put((event["type"], pod.metadata.resource_version,
                            pod.status.phase or "", ready,
                            pod.metadata.deletion_timestamp is not None))
                if event["type"] == "DELETED":
                    return

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
        seen = []
        while not (seen and seen[-1][0] == "MODIFIED" and seen[-1][3]):
            seen.append(events.get(timeout=60))
        assert seen[0][0] == "ADDED"
        versions = [int(e[1]) for e in seen]
        assert versions == sorted(set(versions)), seen  # each change its own version
        assert seen[-1][2] == "Running"

        # PATCH and PUT answer the pod's real status, as stored.
        patched = core.patch_namespaced_pod("kubia-manual", "default",
                                            {"metadata": {"labels": {"tier": "web"}}})
        assert patched.status.phase == "Running"
        assert patched.status.container_statuses[0].ready is True
        current = core.read_namespaced_pod("kubia-manual", "default")
        current.metadata.labels["tier"] = "api"
        replaced = core.replace_namespaced_pod("kubia-manual", "default", current)
        assert replaced.status.phase == "Running" and replaced.status.pod_ip

        # Deleted: Terminating, never back to Pending, until it is gone.
        core.delete_namespaced_pod("kubia-manual", "default", grace_period_seconds=2)
        while seen[-1][0] != "DELETED":
            seen.append(events.get(timeout=60))
        follower.join(timeout=30)
        terminating = [e for e in seen if e[4]]
        assert terminating and all(e[2] == "Running" for e in terminating), seen
        versions = [int(e[1]) for e in seen]
        assert versions == sorted(set(versions)), seen
    finally:
        api.stop()


def test_an_engine_gone_under_a_running_controller_shows_started_pods_unknown(
        podctl: Podctl, counter: EngineCounter) -> None:
    """The controller's engine (and this test's podctl's) is the counting socket: cut, the
    kubelet writes started pods Unknown, as the CLI and the API both show; back, Running."""
    from kubernetes import client, config

    podctl.env = {**podctl.env, **counter.env}
    api = ApiController(podctl)
    try:
        config.load_kube_config(config_file=str(api.kubeconfig))
        core = client.CoreV1Api()

        def phases() -> tuple[str, str]:
            row = podctl("get", "pods", "--no-headers").split()
            return row[2], core.read_namespaced_pod("kubia-manual", "default").status.phase

        podctl("create", "-f", str(MANIFESTS / "kubia-manual.yaml"))
        podctl.wait_for(lambda: phases() == ("Running", "Running"), timeout=60,
                        message="Running")
        counter.down()
        podctl.wait_for(lambda: phases() == ("Unknown", "Unknown"), timeout=30,
                        message="Unknown in the CLI and the API")
        row = podctl("get", "pods", "--no-headers").split()
        assert row[1] == "0/1"  # not ready while nothing can tell
        counter.up()
        podctl.wait_for(lambda: phases() == ("Running", "Running"), timeout=60,
                        message="Running again once the engine answers")
    finally:
        api.stop()
