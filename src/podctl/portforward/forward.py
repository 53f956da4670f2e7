"""The control plane: listen, accept, find where the pod is now, connect, hand over to a Relay.

The pod's IP is cached and re-read every few seconds, whenever a connection to it fails and
when Docker reports its sandbox dead, so new connections follow a recreated sandbox or
another replica and are not sent to an IP Docker may already have given to someone else.
A connection that fails is reported and closed; the forward itself ends only on stop() or
when the pod is gone for good (kubectl's `lost connection to pod`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

from podctl.errors import PodctlError
from podctl.portforward.events import SandboxDeaths
from podctl.portforward.ports import (
    ListenAddress,
    PortPair,
    go_listen_error,
    go_ports,
)
from podctl.portforward.relay import Relay
from podctl.portforward.target import Endpoint, Follower

REFRESH_SECONDS = 2.0  # how stale the cached pod IP may get
GRACE_SECONDS = 10.0  # how long a deleted pod (or a pod without IP) may take to come back
# A pod on the local bridge answers a SYN at once; only a vanished IP (ARP gives up after
# ~3 s) or a full accept queue (SYN retried after 1 s) takes longer.
CONNECT_SECONDS = 3.0
POLL_SECONDS = 0.25

Write = Callable[[str], None]


class ForwardError(Exception):
    """One connection could not be forwarded; the forward goes on."""


class PortForward:
    """Listeners for the port pairs, each accepted connection relayed to the followed pod."""

    def __init__(self, follower: Follower, endpoint: Endpoint | None, pairs: Sequence[PortPair],
                 addresses: Sequence[ListenAddress], out: Write, err: Write,
                 grace_seconds: float = GRACE_SECONDS,
                 refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._follower = follower
        self._endpoint = endpoint
        self._pairs = list(pairs)
        self._addresses = list(addresses)
        self._out = out
        self._err = err
        self._grace = grace_seconds
        self._refresh_every = refresh_seconds
        self._listeners: list[tuple[socket.socket, PortPair]] = []
        self._relays: set[Relay] = set()
        self._relays_lock = threading.Lock()
        self._bridging: set[asyncio.Task[None]] = set()
        self._refreshing: asyncio.Future[Endpoint | None] | None = None
        self._missing_since: float | None = None
        self._deaths = 0  # sandbox deaths seen: a look begun before one may be stale
        self._stop = asyncio.Event()

    def listen(self) -> None:
        """Bind every pair on every address, printing kubectl's Forwarding lines."""
        bound = [self._listen_port(pair) for pair in self._pairs]
        if not any(ok for ok, _ in bound):
            raise PodctlError("unable to listen on any of the requested ports: "
                              f"{go_ports(pair for _, pair in bound)}")

    async def serve(self) -> None:
        """Accept and relay until stop(); raises when the pod is gone for good."""
        tasks = [asyncio.create_task(self._accept(sock, pair)) for sock, pair in self._listeners]
        tasks.append(asyncio.create_task(self._watch()))
        stopper = asyncio.create_task(self._stopped())
        try:
            done, _ = await asyncio.wait([*tasks, stopper],
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            await self._shut_down([*tasks, stopper])
        for task in done:
            task.result()

    def stop(self) -> None:
        """Ask serve() to return; call it in the loop's thread (a signal handler is)."""
        self._stop.set()

    def pod_died(self, uid: str) -> None:
        """Docker says the sandbox of pod `uid` died: stop connecting to its IP at once.
        Call it in the loop's thread."""
        self._deaths += 1
        if self._endpoint is not None and self._endpoint.uid == uid:
            self._endpoint = None

    async def _stopped(self) -> None:
        await self._stop.wait()

    def _listen_port(self, pair: PortPair) -> tuple[bool, PortPair]:
        """Listen on every address, as client-go's listenOnPort (a port chosen by the
        first bind is reused on the others); whether the port counts as listening."""
        local, failed, errors = pair.local, [], []
        for address in self._addresses:
            try:
                sock = _bind(address, local)
            except OSError as exc:
                failed.append(address)
                errors.append("unable to create listener: Error "
                              + go_listen_error(address, local, exc))
                continue
            local = sock.getsockname()[1]
            self._listeners.append((sock, PortPair(local, pair.remote)))
            self._out(f"Forwarding from {address.join(local)} -> {pair.remote}")
        ok = _port_listens(self._addresses, failed)
        if not ok:
            self._err(f"Unable to listen on port {local}: Listeners failed to create with "
                      f"the following errors: [{' '.join(errors)}]")
        return ok, PortPair(local, pair.remote)

    async def _accept(self, listener: socket.socket, pair: PortPair) -> None:
        """Accept connections on one listener for as long as the forward runs."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(listener)
            except OSError as exc:  # out of file descriptors, say: keep listening
                self._err(f"error accepting a connection on port {pair.local}: {exc}")
                await asyncio.sleep(POLL_SECONDS)
                continue
            self._out(f"Handling connection for {pair.local}")
            task = asyncio.create_task(self._bridge(client, pair))
            self._bridging.add(task)
            task.add_done_callback(self._bridging.discard)

    async def _bridge(self, client: socket.socket, pair: PortPair) -> None:
        """Connect the accepted client to the pod and start relaying."""
        try:
            upstream = await self._connect_pod(pair.remote)
        except ForwardError as exc:
            client.close()
            self._err(f"an error occurred forwarding {pair.local} -> {pair.remote}: {exc}")
            return
        except asyncio.CancelledError:
            client.close()
            raise
        _no_delay(client)
        relay = Relay(client, upstream, self._relay_ended)
        with self._relays_lock:
            self._relays.add(relay)
        relay.start()

    async def _connect_pod(self, port: int) -> socket.socket:
        """A connection to the pod's port. While the pod has no IP, wait for it (up to the
        grace period); when a connection fails, re-read where the pod is and retry only if
        it moved, so a refused port fails at once as with kubectl."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace
        endpoint = self._endpoint or await self._refresh()
        while True:
            if endpoint is not None:
                try:
                    return await dial(endpoint.ip, port)
                except OSError as exc:
                    moved = await self._refresh()
                    if moved == endpoint or loop.time() >= deadline:
                        raise ForwardError(dial_error(endpoint, port, exc)) from exc
                    endpoint = moved
                    continue
            if loop.time() >= deadline:
                raise ForwardError(self._follower.unavailable)
            await asyncio.sleep(POLL_SECONDS)
            endpoint = await self._refresh()

    async def _refresh(self) -> Endpoint | None:
        """Re-read where the pod is; concurrent callers share one read."""
        if self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self._read())
            self._refreshing.add_done_callback(self._refreshed)
        return await asyncio.shield(self._refreshing)

    def _refreshed(self, _: asyncio.Future[Endpoint | None]) -> None:
        self._refreshing = None

    async def _read(self) -> Endpoint | None:
        """One look at the pod (blocking I/O, so in a thread); tracks how long it is gone."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                deaths = self._deaths
                sighting = await asyncio.to_thread(self._follower.look)
                if deaths == self._deaths:
                    break
        except (PodctlError, OSError, sqlite3.Error):
            return self._endpoint  # Docker or the store hiccuped: keep what we knew
        if sighting.exists:
            self._missing_since = None
        elif self._missing_since is None:
            self._missing_since = loop.time()
        self._endpoint = sighting.endpoint
        return sighting.endpoint

    async def _watch(self) -> None:
        """Keep the cached IP fresh; end the forward when the pod stays deleted."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._refresh_every)
            await self._refresh()
            if (self._missing_since is not None
                    and loop.time() - self._missing_since >= self._grace):
                raise PodctlError("lost connection to pod")

    def _relay_ended(self, relay: Relay) -> None:
        with self._relays_lock:
            self._relays.discard(relay)

    async def _shut_down(self, tasks: list[asyncio.Task[None]]) -> None:
        """Close listeners, drop connections being set up, end every relay."""
        pending = [*tasks, *self._bridging]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for sock, _ in self._listeners:
            sock.close()
        with self._relays_lock:
            relays = list(self._relays)
        for relay in relays:
            relay.abort()
        deadline = time.monotonic() + 2.0  # aborted relays end at once; never hang here
        for relay in relays:
            relay.wait(max(0.0, deadline - time.monotonic()))


def run_until_signalled(forward: PortForward) -> None:
    """Listen, then serve until SIGINT or SIGTERM (a normal end, as kubectl's Ctrl-C).

    The handlers are in place before the first Forwarding line, so a signal sent as soon
    as a script has read it ends the forward cleanly too.
    """

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, forward.stop)
        def died(uid: str) -> None:
            loop.call_soon_threadsafe(forward.pod_died, uid)

        deaths = SandboxDeaths(died)
        deaths.start()
        try:
            forward.listen()
            await forward.serve()
        finally:
            deaths.close()

    asyncio.run(main())


def _port_listens(addresses: Sequence[ListenAddress], failed: Sequence[ListenAddress]) -> bool:
    """client-go's rule: every explicit address must bind; of localhost's two, one must."""
    if any(a.must_bind for a in failed):
        return False
    optional = sum(not a.must_bind for a in addresses)
    return optional == 0 or sum(not a.must_bind for a in failed) < optional


def _bind(address: ListenAddress, port: int) -> socket.socket:
    """A listening socket as Go makes one: SO_REUSEADDR, and IPv6 sockets IPv6-only."""
    sock = socket.socket(address.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if address.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address.host, port))
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def dial(ip: str, port: int) -> socket.socket:
    """A TCP connection to the pod, straight over the Docker bridge."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        _no_delay(sock)
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.sock_connect(sock, (ip, port)), CONNECT_SECONDS)
    except BaseException:
        sock.close()
        raise
    return sock


def _no_delay(sock: socket.socket) -> None:
    """Relay small writes at once (Go's default too): Nagle would hold them back per hop."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def dial_error(endpoint: Endpoint, port: int, exc: OSError) -> str:
    """kubectl's wording around a Go-style dial error."""
    if isinstance(exc, TimeoutError):
        reason = "i/o timeout"
    else:  # asyncio's own text ("Connect call failed ...") says less than the errno
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    return (f"error forwarding port {port} to pod {endpoint.pod}, uid {endpoint.uid}: "
            f"dial tcp {endpoint.ip}:{port}: connect: {reason}")
