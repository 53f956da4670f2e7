"""`podctl port-forward` on the real engine: kubectl's output, loopback-only listeners, many
connections, a checksummed 200 MB transfer, resets, and following a recreated sandbox or
another replica."""

from __future__ import annotations

import hashlib
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import docker
import pytest

from podctl.runtime.network import NETWORK_NAME

from .conftest import PODCTL, Podctl, containers_of, http_get
from .test_controller import Start

KUBIA = """
apiVersion: v1
kind: Pod
metadata: {name: kubia}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: kubia
    image: podctl/kubia:1
    ports: [{name: http, containerPort: 8080}]
"""
BLOB = """
apiVersion: v1
kind: Pod
metadata: {name: blob}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: podctl/busybox:1
    command: [sh, -c, "mkdir -p /www && dd if=/dev/urandom of=/www/blob bs=1M count=200
      2>/dev/null && touch /www/ready && exec httpd -f -p 8080 -h /www"]
"""
RC = """
apiVersion: v1
kind: ReplicationController
metadata: {name: kubia}
spec:
  replicas: 2
  selector: {app: kubia}
  template:
    metadata: {labels: {app: kubia}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: kubia, image: podctl/kubia:1, ports: [{containerPort: 8080}]}]
"""
FORWARDING = re.compile(r"Forwarding from (\S+):(\d+) -> (\d+)$")


class Forward:
    """A `podctl port-forward` process; its output is read continuously so it never blocks."""

    def __init__(self, podctl: Podctl, *args: str) -> None:
        self.proc = subprocess.Popen([PODCTL, "port-forward", *args], env=podctl.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [threading.Thread(target=_collect, args=(stream, lines), daemon=True)
                        for stream, lines in ((self.proc.stdout, self.out),
                                              (self.proc.stderr, self.err))]
        for reader in self.readers:
            reader.start()

    def listening(self, count: int = 2) -> list[tuple[str, int, int]]:
        """(address, local port, remote port) of the first `count` Forwarding lines."""
        self.wait_for(lambda: len(self.forwarding()) >= count, "Forwarding lines")
        return self.forwarding()[:count]

    def forwarding(self) -> list[tuple[str, int, int]]:
        found = [FORWARDING.match(line) for line in list(self.out)]
        return [(m[1], int(m[2]), int(m[3])) for m in found if m]

    def port(self) -> int:
        return self.listening(1)[0][1]

    def get(self, path: str = "/", port: int | None = None) -> str:
        return http_get(f"http://127.0.0.1:{port or self.port()}{path}", timeout=10)

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            exited = self.proc.poll() is not None
            if exited:
                for reader in self.readers:
                    reader.join(5)  # the last lines may still be on their way
            if (exited and not predicate()) or time.monotonic() > deadline:
                raise AssertionError(f"no {what}: exit {self.proc.poll()}\n"
                                     f"stdout: {self.out}\nstderr: {self.err}")
            time.sleep(0.05)

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=10)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _collect(stream: IO[str] | None, lines: list[str]) -> None:
    assert stream is not None
    for line in stream:
        lines.append(line.rstrip("\n"))


@pytest.fixture
def forward(podctl: Podctl) -> Iterator[Callable[..., Forward]]:
    started: list[Forward] = []

    def start(*args: str) -> Forward:
        started.append(Forward(podctl, *args))
        return started[-1]

    yield start
    for process in started:
        process.kill()


def listen_addresses(port: int) -> set[str]:
    """The local addresses with a TCP listener on the port, from /proc/net/tcp{,6}."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    raw = bytes.fromhex(address)
                    # the kernel prints each 32-bit word in host (little-endian) order
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                    found.add(socket.inet_ntop(family, words))
    return found


def running_pod(podctl: Podctl, name: str) -> bool:
    status = podctl.pod_json(name)["status"]
    return bool(status.get("phase") == "Running" and status.get("podIP")
                and all(s["ready"] for s in status.get("containerStatuses") or [{}]))


def test_forward_to_a_pod_as_kubectl_prints_it(podctl: Podctl,
                                               forward: Callable[..., Forward]) -> None:
    podctl.apply_yaml(KUBIA)
    process = forward("pod/kubia", ":8080", ":http")
    (v4, port, remote), (v6, same_port, _), (_, named_port, named_remote) = process.listening(3)
    assert (v4, v6, same_port, remote, named_remote) == ("127.0.0.1", "[::1]", port, 8080, 8080)
    assert process.out[:2] == [f"Forwarding from 127.0.0.1:{port} -> 8080",
                               f"Forwarding from [::1]:{port} -> 8080"]
    assert listen_addresses(port) == {"127.0.0.1", "::1"}  # loopback only
    assert process.get() == "You've hit kubia\n"
    assert http_get(f"http://[::1]:{named_port}/", timeout=10) == "You've hit kubia\n"
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda _: process.get(port=port), range(50)))
    assert answers == ["You've hit kubia\n"] * 50
    process.wait_for(lambda: process.out.count(f"Handling connection for {port}") == 51,
                     "Handling connection lines")
    assert process.interrupt() == 0
    assert listen_addresses(port) == set()


def test_listen_addresses_are_only_the_ones_asked_for(podctl: Podctl,
                                                      forward: Callable[..., Forward]) -> None:
    podctl.apply_yaml(KUBIA)
    v4_only = forward("kubia", ":8080", "--address", "127.0.0.1")
    port = v4_only.port()
    assert listen_addresses(port) == {"127.0.0.1"}
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("::1", port), timeout=5)
    everywhere = forward("kubia", ":8080", "--address", "0.0.0.0")
    assert listen_addresses(everywhere.port()) == {"0.0.0.0"}
    assert everywhere.get() == "You've hit kubia\n"


def test_refusals_use_kubectl_wording(podctl: Podctl) -> None:
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: stuck}
spec:
  containers: [{name: app, image: podctl/not-there:1, imagePullPolicy: Never}]
""")
    result = podctl.run("port-forward", "stuck", "8080")
    assert (result.code, result.err) == (
        1, "error: unable to forward port because pod is not running. Current status=Pending\n")
    result = podctl.run("port-forward", "pod/nope", "8080")
    assert (result.code, result.err) == (1, 'Error from server (NotFound): pods "nope" not found\n')


def test_200_mb_arrive_intact_while_a_reset_client_leaves(podctl: Podctl,
                                                          forward: Callable[..., Forward]) -> None:
    podctl.apply_yaml(BLOB)
    podctl.wait_for(lambda: podctl.run("exec", "blob", "--", "test", "-f", "/www/ready").code
                    == 0, timeout=60, message="the blob")
    expected = podctl("exec", "blob", "--", "sha256sum", "/www/blob").split()[0]
    process = forward("blob", ":8080")
    port = process.port()
    process.wait_for(lambda: _try_get(port, "/ready"), "httpd answering")

    with ThreadPoolExecutor(max_workers=3) as pool:
        downloads = [pool.submit(_sha256_of, port, "/blob") for _ in range(2)]
        _reset_mid_transfer(port, "/blob")
        assert [d.result(timeout=60) for d in downloads] == [(200 << 20, expected)] * 2
    assert _sha256_of(port, "/blob") == (200 << 20, expected)
    assert process.proc.poll() is None


def test_the_forward_follows_a_recreated_sandbox(podctl: Podctl, controller: Start,
                                                 forward: Callable[..., Forward],
                                                 docker_client: docker.DockerClient) -> None:
    podctl.apply_yaml(KUBIA)
    process = forward("kubia", ":8080")
    assert process.get() == "You've hit kubia\n"
    pod = podctl.pod_json("kubia")
    uid, old_ip = pod["metadata"]["uid"], pod["status"]["podIP"]
    sandbox = next(c for c in containers_of(docker_client, uid)
                   if c.labels["io.kubernetes.docker.type"] == "podsandbox")
    sandbox.kill()
    # Docker hands out the lowest free address: hold the old one so that the sandbox the
    # controller recreates gets another.
    fillers = _hold_address(docker_client, old_ip)
    try:
        controller()
        podctl.wait_for(lambda: _new_sandbox_running(docker_client, uid, sandbox.id)
                        and running_pod(podctl, "kubia"), timeout=40, message="a new sandbox")
        assert podctl.pod_json("kubia")["status"]["podIP"] != old_ip
        assert process.get() == "You've hit kubia\n"
        assert process.proc.poll() is None
    finally:
        for filler in fillers:
            filler.remove(force=True)


def test_rc_forward_moves_to_another_replica(podctl: Podctl, controller: Start,
                                             forward: Callable[..., Forward]) -> None:
    controller()
    podctl.apply_yaml(RC)
    podctl.wait_for(lambda: _running_replicas(podctl) == 2, timeout=30, message="2 replicas")
    process = forward("rc/kubia", ":8080")
    first = process.get().removeprefix("You've hit ").strip()
    assert first.startswith("kubia-")
    podctl("delete", "pod", first, "--now")
    second = process.get().removeprefix("You've hit ").strip()
    assert second.startswith("kubia-") and second != first


def test_a_deleted_pod_ends_the_forward(podctl: Podctl, forward: Callable[..., Forward]) -> None:
    podctl.apply_yaml(KUBIA)
    process = forward("kubia", "0:8080", "--address", "127.0.0.1")
    process.port()
    podctl("delete", "pod", "kubia", "--now")
    assert process.proc.wait(timeout=30) == 1
    process.wait_for(lambda: bool(process.err), "stderr")
    assert process.err == ["error: lost connection to pod"]


def _try_get(port: int, path: str) -> bool:
    try:
        http_get(f"http://127.0.0.1:{port}{path}", timeout=5)
    except OSError:
        return False
    return True


def _sha256_of(port: int, path: str) -> tuple[int, str]:
    digest, total = hashlib.sha256(), 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            total += len(chunk)
    return total, digest.hexdigest()


def _reset_mid_transfer(port: int, path: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        received = 0
        while received < 4 << 20:
            received += len(sock.recv(1 << 16))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _hold_address(client: docker.DockerClient, ip: str) -> list[Any]:
    """Pause containers on the pod network until one of them has the given IP."""
    fillers: list[Any] = []
    while len(fillers) < 10:
        fillers.append(client.containers.run("podctl/pause:1.0", network=NETWORK_NAME,
                                             detach=True))
        fillers[-1].reload()
        if fillers[-1].attrs["NetworkSettings"]["Networks"][NETWORK_NAME]["IPAddress"] == ip:
            return fillers
    for filler in fillers:
        filler.remove(force=True)
    raise AssertionError(f"could not hold {ip}")


def _new_sandbox_running(client: docker.DockerClient, uid: str, old: str) -> bool:
    return any(c.labels["io.kubernetes.docker.type"] == "podsandbox" and c.id != old
               and c.status == "running" for c in containers_of(client, uid))


def _running_replicas(podctl: Podctl) -> int:
    import json

    pods = json.loads(podctl("get", "pods", "-l", "app=kubia", "-o", "json"))["items"]
    return sum(p["status"].get("phase") == "Running" and bool(p["status"].get("podIP"))
               for p in pods)


SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: kubia}
spec:
  selector: {app: kubia}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""


def test_service_forward_goes_to_a_selected_pod_on_its_target_port(
        podctl: Podctl, forward: Callable[..., Forward]) -> None:
    podctl.apply_yaml(RC)
    podctl.apply_yaml(SERVICE)
    podctl.wait_for(lambda: _running_replicas(podctl) == 2, timeout=30, message="2 replicas")
    process = forward("svc/kubia", ":http", "--address", "127.0.0.1")
    ((_, _, remote),) = process.listening(1)
    assert remote == 8080  # the Service port's targetPort, as kubectl translates it
    assert process.get().startswith("You've hit kubia-")
    refused = podctl.run("port-forward", "svc/kubia", "9999:81")
    assert refused.code == 1
    assert refused.err.strip() == "error: Service kubia does not have a service port 81"
