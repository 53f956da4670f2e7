"""port-forward without Docker: kubectl's argument parsing, and the relay against servers
on the loopback (parallel, bulk, half-close, reset, following a moving endpoint, leaks)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

import pytest

from podctl.api.podpick import split_argument
from podctl.cli.common import running_timeout as _running_timeout
from podctl.errors import PodctlError
from podctl.portforward.forward import PortForward
from podctl.portforward.ports import (
    ListenAddress,
    PortPair,
    go_listen_error,
    go_ports,
    named_ports_to_numbers,
    parse_addresses,
    parse_ports,
)
from podctl.portforward.relay import PUMPS, on_this_host
from podctl.portforward.target import Endpoint, Sighting

# ---------------------------------------------------------------------------------------
# Arguments


def test_port_pairs_as_kubectl_reads_them() -> None:
    assert parse_ports(["8080", "8888:8080", ":5000", "0:53", "08080:1"]) == [
        PortPair(8080, 8080), PortPair(8888, 8080), PortPair(0, 5000), PortPair(0, 53),
        PortPair(8080, 1)]


@pytest.mark.parametrize(("spec", "message"), [
    ("x:8080", "error parsing local port 'x': strconv.ParseUint: parsing \"x\": invalid syntax"),
    ("8080:y", "error parsing remote port 'y': strconv.ParseUint: parsing \"y\": invalid syntax"),
    ("70000", "error parsing local port '70000': strconv.ParseUint: parsing \"70000\": "
              "value out of range"),
    ("-1", "error parsing local port '-1': strconv.ParseUint: parsing \"-1\": invalid syntax"),
    ("+80", "error parsing local port '+80': strconv.ParseUint: parsing \"+80\": invalid syntax"),
    ("", "error parsing local port '': strconv.ParseUint: parsing \"\": invalid syntax"),
    ("1:2:3", "invalid port format '1:2:3'"),
    ("8080:0", "remote port must be > 0"),
    ("0", "remote port must be > 0"),
])
def test_bad_port_pairs_use_kubectl_wording(spec: str, message: str) -> None:
    with pytest.raises(PodctlError) as caught:
        parse_ports([spec])
    assert str(caught.value) == message


POD: dict[str, Any] = {
    "metadata": {"name": "kubia"},
    "spec": {"containers": [
        {"name": "web", "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                  {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                  {"name": "both", "containerPort": 99, "protocol": "UDP"}]},
        {"name": "side", "ports": [{"name": "metrics", "containerPort": 9090},
                                   {"containerPort": 99, "protocol": "TCP"}]},
    ]},
}


def test_named_ports_become_numbers() -> None:
    assert named_ports_to_numbers(["http", "9000:http", ":metrics", "7000", "1:2"], POD) == [
        "8080", "9000:8080", ":9090", "7000", "1:2"]


@pytest.mark.parametrize(("spec", "message"), [
    ("dns", "UDP protocol is not supported for dns"),
    ("5353:53", "UDP protocol is not supported for 53"),
    ("nope", "Pod 'kubia' does not have a named port 'nope'"),
])
def test_udp_and_unknown_port_names_are_refused(spec: str, message: str) -> None:
    with pytest.raises(PodctlError) as caught:
        named_ports_to_numbers([spec], POD)
    assert str(caught.value) == message


def test_a_port_declared_for_udp_and_tcp_is_forwarded() -> None:
    assert named_ports_to_numbers(["99"], POD) == ["99"]


def test_localhost_is_both_loopbacks_and_either_may_fail() -> None:
    assert parse_addresses(["localhost"]) == [
        ListenAddress("127.0.0.1", socket.AF_INET, False),
        ListenAddress("::1", socket.AF_INET6, False)]


def test_explicit_addresses_are_sorted_deduplicated_and_required() -> None:
    addresses = parse_addresses(["::1,0.0.0.0", "localhost", "127.0.0.1"])
    assert [(a.host, a.network, a.must_bind) for a in addresses] == [
        ("0.0.0.0", "tcp4", True), ("127.0.0.1", "tcp4", True), ("::1", "tcp6", True)]


def test_an_address_must_be_an_ip() -> None:
    with pytest.raises(PodctlError, match=r"^example\.com is not a valid IP$"):
        parse_addresses(["127.0.0.1,example.com"])


def test_go_spellings() -> None:
    v6 = ListenAddress("::1", socket.AF_INET6, False)
    assert v6.join(8080) == "[::1]:8080"
    assert go_ports([PortPair(8888, 8080), PortPair(0, 53)]) == "[{8888 8080} {0 53}]"
    in_use = OSError(98, os.strerror(98))
    assert go_listen_error(v6, 80, in_use) == "listen tcp6 [::1]:80: bind: address already in use"


@pytest.mark.parametrize(("arg", "kind"), [
    ("kubia", ("Pod", "kubia")), ("pod/kubia", ("Pod", "kubia")),
    ("po/kubia", ("Pod", "kubia")), ("rc/kubia", ("ReplicationController", "kubia")),
    ("replicationcontroller/kubia", ("ReplicationController", "kubia")),
])
def test_resource_argument(arg: str, kind: tuple[str, str]) -> None:
    assert split_argument(arg) == kind


@pytest.mark.parametrize(("arg", "message"), [
    ("widget/kubia", 'the server doesn\'t have a resource type "widget"'),
    ("pod/", "arguments in resource/name form must have a single resource and name"),
])
def test_bad_resource_argument(arg: str, message: str) -> None:
    with pytest.raises(PodctlError) as caught:
        split_argument(arg)
    assert str(caught.value) == message


@pytest.mark.parametrize(("text", "seconds"), [
    ("1m0s", 60.0), ("90s", 90.0), ("1.5h", 5400.0), ("250ms", 0.25), ("2m30s", 150.0)])
def test_pod_running_timeout_is_a_go_duration(text: str, seconds: float) -> None:
    assert _running_timeout(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("10", 'invalid argument "10" for "--pod-running-timeout" flag: '
           'time: invalid duration "10"'),
    ("1m0", 'invalid argument "1m0" for "--pod-running-timeout" flag: '
            'time: invalid duration "1m0"'),
    ("0", "--pod-running-timeout must be higher than zero"),
    ("0s", "--pod-running-timeout must be higher than zero"),
])
def test_bad_pod_running_timeout(text: str, message: str) -> None:
    with pytest.raises(PodctlError) as caught:
        _running_timeout(text)
    assert str(caught.value) == message


# ---------------------------------------------------------------------------------------
# Upstream servers: one line picks the behaviour.
#   echo\n            echo everything until EOF
#   blob N\n          send N bytes of a fixed random pattern, then close
#   reply\n           read until EOF, then answer "got N" (needs the client's FIN relayed)
#   who\n             answer the address the server listens on

PATTERN = os.urandom((16 << 20) - 1)  # an odd length: a dropped or repeated chunk shows


def pattern_chunks(total: int, chunk: int = 1 << 20) -> Iterator[memoryview]:
    view, offset = memoryview(PATTERN), 0
    while total > 0:
        size = min(chunk, total, len(PATTERN) - offset)
        yield view[offset:offset + size]
        offset = (offset + size) % len(PATTERN)
        total -= size


class Handler(socketserver.StreamRequestHandler):
    server: Upstream

    def handle(self) -> None:
        try:
            command = self.rfile.readline().split()
            getattr(self, f"do_{command[0].decode()}")(*command[1:])
        except OSError:
            self.server.resets += 1

    def do_echo(self) -> None:
        while data := self.rfile.read1(1 << 16):
            self.wfile.write(data)

    def do_blob(self, size: bytes) -> None:
        digest = hashlib.sha256()
        for chunk in pattern_chunks(int(size)):
            digest.update(chunk)
            self.wfile.write(chunk)
        self.server.sent.append(digest.hexdigest())

    def do_reply(self) -> None:
        self.wfile.write(f"got {len(self.rfile.read())}".encode())

    def do_who(self) -> None:
        self.wfile.write(str(self.server.server_address[0]).encode())


class Upstream(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), Handler)
        self.sent: list[str] = []
        self.resets = 0
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class Moving:
    """A follower whose answer the test changes."""

    unavailable = 'pod "test" is not running'

    def __init__(self, ip: str | None) -> None:
        self.sighting = Sighting(Endpoint("test", "uid-1", ip) if ip else None, True)

    def look(self) -> Sighting:
        return self.sighting

    def move(self, ip: str | None, exists: bool = True) -> None:
        self.sighting = Sighting(Endpoint("test", "uid-2", ip) if ip else None, exists)


class Served:
    """A PortForward on its own event-loop thread, as the CLI runs it."""

    def __init__(self, follower: Moving, remote: int, addresses: tuple[str, ...] = ("localhost",),
                 grace: float = 10.0, refresh: float = 2.0, local: int = 0) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.forward = PortForward(follower, follower.look().endpoint, [PortPair(local, remote)],
                                   parse_addresses(addresses), self.out.append, self.err.append,
                                   grace_seconds=grace, refresh_seconds=refresh)
        self.forward.listen()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.future = asyncio.run_coroutine_threadsafe(self.forward.serve(), self.loop)

    @property
    def port(self) -> int:
        match = re.match(r"Forwarding from \S+:(\d+) -> \d+$", self.out[0])
        assert match, self.out
        return int(match.group(1))

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def close(self) -> None:
        if not self.future.done():
            self.loop.call_soon_threadsafe(self.forward.stop)
        try:
            error = self.future.exception(10)
            assert error is None or isinstance(error, PodctlError), error
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.stop()


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(*args: Any, **kwargs: Any) -> Served:
        started.append(Served(*args, **kwargs))
        return started[-1]

    yield start
    for served in started:
        served.close()


def ask(sock: socket.socket, command: str, payload: bytes = b"") -> bytes:
    """Send a command (and payload), half-close, read the answer to EOF."""
    with sock:
        sock.sendall(command.encode() + b"\n" + payload)
        sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    parts = []
    while data := sock.recv(1 << 16):
        parts.append(data)
    return b"".join(parts)


def download(served: Served, size: int) -> tuple[int, str]:
    """Byte count and sha256 of a blob fetched through the forward."""
    digest, total = hashlib.sha256(), 0
    buffer = bytearray(1 << 20)
    with served.connect() as sock:
        sock.sendall(f"blob {size}\n".encode())
        while count := sock.recv_into(buffer):
            digest.update(memoryview(buffer)[:count])
            total += count
    return total, digest.hexdigest()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def relay_threads() -> int:
    """Relay threads moving bytes (idle ones wait in the pool for the next connection)."""
    return PUMPS.busy


def threads_but_idle_pumps() -> int:
    return threading.active_count() - (PUMPS.threads - PUMPS.busy)


def settle(predicate: Callable[[], bool], timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# ---------------------------------------------------------------------------------------
# Listening


def test_forwarding_lines_for_both_loopbacks(upstream: Upstream,
                                             serve: Callable[..., Served]) -> None:
    served = serve(Moving("127.0.0.1"), upstream.port)
    port = served.port
    assert served.out == [f"Forwarding from 127.0.0.1:{port} -> {upstream.port}",
                          f"Forwarding from [::1]:{port} -> {upstream.port}"]
    with socket.create_connection(("::1", port), timeout=5) as sock:
        assert ask(sock, "who") == b"127.0.0.1"
    assert settle(lambda: served.out[-1] == f"Handling connection for {port}")


def test_an_explicit_ipv4_address_listens_on_ipv4_only(upstream: Upstream,
                                                       serve: Callable[..., Served]) -> None:
    served = serve(Moving("127.0.0.1"), upstream.port, ("127.0.0.1",))
    assert len(served.out) == 1
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("::1", served.port), timeout=5)


def test_localhost_needs_one_loopback_but_an_explicit_address_must_bind() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        out: list[str] = []
        err: list[str] = []
        forward = PortForward(Moving("127.0.0.1"), None, [PortPair(port, 80)],
                              parse_addresses(["localhost"]), out.append, err.append)
        forward.listen()
        assert out == [f"Forwarding from [::1]:{port} -> 80"] and err == []
        asyncio.run(_served_briefly(forward))

        explicit = PortForward(Moving("127.0.0.1"), None, [PortPair(port, 80)],
                               parse_addresses(["127.0.0.1"]), out.append, err.append)
        with pytest.raises(PodctlError) as caught:
            explicit.listen()
    assert str(caught.value) == f"unable to listen on any of the requested ports: [{{{port} 80}}]"
    assert err == [f"Unable to listen on port {port}: Listeners failed to create with the "
                   "following errors: [unable to create listener: Error listen tcp4 "
                   f"127.0.0.1:{port}: bind: address already in use]"]


async def _served_briefly(forward: PortForward) -> None:
    asyncio.get_running_loop().call_later(0.05, forward.stop)
    await forward.serve()


# ---------------------------------------------------------------------------------------
# Relaying


def test_fifty_parallel_connections(upstream: Upstream, serve: Callable[..., Served]) -> None:
    served = serve(Moving("127.0.0.1"), upstream.port)

    def echo(i: int) -> bool:
        payload = os.urandom(256 * 1024 + i)
        return ask(served.connect(), "echo", payload) == payload

    with ThreadPoolExecutor(max_workers=50) as pool:
        assert all(pool.map(echo, range(50)))
    assert settle(lambda: served.out.count(f"Handling connection for {served.port}") == 50)


def test_a_200_mb_transfer_arrives_intact(upstream: Upstream,
                                          serve: Callable[..., Served]) -> None:
    served = serve(Moving("127.0.0.1"), upstream.port)
    size, digest = download(served, 200 << 20)
    assert size == 200 << 20
    assert settle(lambda: len(upstream.sent) == 1) and digest == upstream.sent[0]


def test_half_close_still_gets_the_reply(upstream: Upstream,
                                         serve: Callable[..., Served]) -> None:
    served = serve(Moving("127.0.0.1"), upstream.port)
    assert ask(served.connect(), "reply", b"x" * 100_000) == b"got 100000"


def test_a_reset_client_ends_only_its_own_connection(upstream: Upstream,
                                                     serve: Callable[..., Served]) -> None:
    served = serve(Moving("127.0.0.1"), upstream.port)
    size = 64 << 20
    with ThreadPoolExecutor(max_workers=3) as pool:
        others = [pool.submit(download, served, size) for _ in range(3)]
        rude = served.connect()
        rude.sendall(f"blob {size}\n".encode())
        rude.recv(1 << 16)
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rude.close()
        results = [f.result(timeout=30) for f in others]
    assert settle(lambda: upstream.resets == 1)  # the reset reached the server
    assert all(n == size and digest in upstream.sent for n, digest in results)
    assert ask(served.connect(), "reply", b"still") == b"got 5"


def test_idle_connections_are_not_cut(upstream: Upstream,
                                      serve: Callable[..., Served]) -> None:
    served = serve(Moving("127.0.0.1"), upstream.port, refresh=0.05)
    with served.connect() as sock:
        sock.sendall(b"echo\n")
        time.sleep(0.5)  # ten refreshes
        sock.sendall(b"still here")
        assert sock.recv(100) == b"still here"


def test_no_sockets_pipes_or_threads_left_after_200_connections(
        upstream: Upstream, serve: Callable[..., Served]) -> None:
    served = serve(Moving("127.0.0.1"), upstream.port, refresh=60)
    assert ask(served.connect(), "reply") == b"got 0"  # warm-up: the loop's own fds
    assert settle(lambda: relay_threads() == 0)
    fds, threads = open_fds(), threads_but_idle_pumps()

    def one(i: int) -> bool:
        return ask(served.connect(), "echo", b"%d" % i) == b"%d" % i

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert all(pool.map(one, range(200)))
    assert settle(lambda: relay_threads() == 0)
    # <=: other tests in this worker process may still be releasing their own fds/threads
    assert settle(lambda: open_fds() <= fds and threads_but_idle_pumps() <= threads), (
        open_fds(), fds, threads_but_idle_pumps(), threads)


def test_a_client_on_this_host_is_sent_to_without_pacing(upstream: Upstream,
                                                          serve: Callable[..., Served]) -> None:
    served = serve(Moving("127.0.0.1"), upstream.port)
    with served.connect() as sock:
        sock.sendall(b"echo\nx")
        assert sock.recv(10) == b"x"  # relaying: the forward's end is set up
        forward_end = accepted_socket(sock.getsockname())
        with forward_end:
            cc = forward_end.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16)
        assert cc.rstrip(b"\0") == b"reno"


def test_only_loopback_connections_are_on_this_host() -> None:
    assert on_this_host("127.0.0.1", "127.0.0.1")
    assert on_this_host("127.0.0.1", "127.0.0.5")
    assert on_this_host("::1", "::1")
    assert on_this_host("192.0.2.2", "192.0.2.2")  # the host's own address goes over lo
    assert not on_this_host("192.0.2.2", "192.0.2.7")
    assert not on_this_host("fd00::2", "fd00::3")


def accepted_socket(peer: tuple[str, int]) -> socket.socket:
    """A duplicate of this process's socket connected to `peer` (the forward accepted it)."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            copy = os.dup(int(fd))
        except OSError:  # the listing's own fd, closed by now
            continue
        try:
            sock = socket.socket(fileno=copy)
        except OSError:  # not a socket
            os.close(copy)
            continue
        with suppress(OSError):
            if sock.type == socket.SOCK_STREAM and sock.getpeername() == peer:
                return sock
        sock.close()
    raise AssertionError(f"no socket connected to {peer}")


# ---------------------------------------------------------------------------------------
# Following the pod


def test_new_connections_follow_a_moved_endpoint(serve: Callable[..., Served]) -> None:
    first = Upstream("127.0.0.2")
    second = Upstream("127.0.0.3", first.port)
    follower = Moving("127.0.0.2")
    served = serve(follower, first.port)
    try:
        assert ask(served.connect(), "who") == b"127.0.0.2"
        first.stop()  # the old sandbox is gone; the cache still points at it
        follower.move("127.0.0.3")
        assert ask(served.connect(), "who") == b"127.0.0.3"
    finally:
        second.stop()


def test_a_dead_sandbox_ip_is_dropped_at_once(serve: Callable[..., Served]) -> None:
    reused = Upstream("127.0.0.2")  # stands for another pod that got the dead pod's IP
    second = Upstream("127.0.0.3", reused.port)
    follower = Moving("127.0.0.2")
    served = serve(follower, reused.port)
    try:
        follower.move("127.0.0.3")
        served.loop.call_soon_threadsafe(served.forward.pod_died, "uid-1")
        assert ask(served.connect(), "who") == b"127.0.0.3"
    finally:
        reused.stop()
        second.stop()


def test_a_connection_waits_while_the_pod_has_no_ip(upstream: Upstream,
                                                    serve: Callable[..., Served]) -> None:
    follower = Moving(None)
    served = serve(follower, upstream.port)
    threading.Timer(0.4, follower.move, args=("127.0.0.1",)).start()
    assert ask(served.connect(), "who") == b"127.0.0.1"


def test_a_refused_port_fails_that_connection_only(upstream: Upstream,
                                                   serve: Callable[..., Served]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        refused = closed.getsockname()[1]
    served = serve(Moving("127.0.0.1"), refused)
    assert read_all(served.connect()) == b""
    assert settle(lambda: bool(served.err))
    assert served.err == [f"an error occurred forwarding {served.port} -> {refused}: error "
                          f"forwarding port {refused} to pod test, uid uid-1: dial tcp "
                          f"127.0.0.1:{refused}: connect: connection refused"]
    assert not served.future.done()


def test_no_pod_within_the_grace_period_closes_the_connection(
        serve: Callable[..., Served]) -> None:
    served = serve(Moving(None), 9, grace=0.3)
    assert read_all(served.connect()) == b""
    assert settle(lambda: bool(served.err))
    assert served.err[0].endswith(': pod "test" is not running')


def test_a_deleted_pod_that_stays_away_ends_the_forward(serve: Callable[..., Served]) -> None:
    follower = Moving("127.0.0.1")
    served = serve(follower, 9, grace=0.3, refresh=0.05)
    follower.move(None, exists=False)
    with pytest.raises(PodctlError, match=r"^lost connection to pod$"):
        served.future.result(5)


def test_a_deleted_pod_that_comes_back_keeps_the_forward(upstream: Upstream,
                                                          serve: Callable[..., Served]) -> None:
    follower = Moving("127.0.0.1")
    served = serve(follower, upstream.port, grace=0.5, refresh=0.05)
    follower.move(None, exists=False)
    time.sleep(0.3)
    follower.move("127.0.0.1")
    time.sleep(0.5)
    assert not served.future.done()
    assert ask(served.connect(), "who") == b"127.0.0.1"
