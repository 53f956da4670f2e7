"""The data plane: bytes both ways between two TCP sockets, moved by the kernel with splice(2).

Each direction is a thread blocked in splice through its own pipe, so the payload never
enters Python, and a client on this host is sent to without pacing. On
bench/bench_portforward.py (2 cores shared with other work: medians of runs spread widely) a
download runs at 0.8-1.0x a direct connection to the pod (0.65-0.75x when paced) for
~0.22 CPU s/GB; an asyncio relay with 256 KiB reads reaches 0.5-0.65x for ~0.55 s/GB.
An idle connection is two sleeping threads; nothing times it out. The threads come from a
pool that keeps them for the next connections.
"""

from __future__ import annotations

import fcntl
import functools
import ipaddress
import os
import socket
import struct
import threading
from collections.abc import Callable
from contextlib import suppress

from podctl.workqueue import Workers

# A new pipe holds 64 KiB. Bulk transfers move far more per call through a 1 MiB pipe, but
# pipe pages count against a per-user limit, so only a direction that has carried a
# megabyte asks for the big pipe; idle and chatty connections keep the small one.
_SMALL_CHUNK = 64 * 1024
_BIG_CHUNK = 1024 * 1024
_GROW_AFTER = 1024 * 1024
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
# The threads that move each direction's bytes, kept a while for the next connection:
# starting two threads per connection was most of the latency a forward added.
PUMPS = Workers(1 << 20, name="podctl-relay", idle_seconds=10.0)
# A pacing congestion control (BBR, the default here) sends each 64 KiB segment from a timer
# at the rate it measures; towards a client on this host the loopback has no queue for pacing
# to spare, so the timers only cost. Reno never paces, and any user may choose it.
_UNPACED = b"reno"


class Relay:
    """Copies a client socket to an upstream socket and back until both directions end.

    A FIN from one side becomes shutdown(SHUT_WR) on the other while the reverse direction
    goes on (half-close); a reset or error on either side resets both.
    """

    def __init__(self, client: socket.socket, upstream: socket.socket,
                 on_done: Callable[[Relay], None]) -> None:
        self._sockets = (client, upstream)
        self._on_done = on_done
        self._lock = threading.Lock()
        self._running = 2
        self._done = threading.Event()

    def start(self) -> None:
        client, upstream = self._sockets
        _unpace_if_local(client)
        client.setblocking(True)
        upstream.setblocking(True)
        for src, dst in ((client, upstream), (upstream, client)):
            PUMPS.submit(functools.partial(self._pump, src, dst))

    def abort(self) -> None:
        """End both directions now; shutdown wakes the threads blocked in splice."""
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def wait(self, timeout: float | None = None) -> bool:
        """Whether both directions ended (and the sockets closed) within the timeout."""
        return self._done.wait(timeout)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        read_end, write_end = os.pipe()
        try:
            _splice_until_eof(src.fileno(), dst.fileno(), read_end, write_end)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            self._reset()
        finally:
            os.close(read_end)
            os.close(write_end)
            self._direction_ended()

    def _reset(self) -> None:
        """Pass a reset on to both peers and wake the other direction."""
        for sock in self._sockets:
            with suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                sock.shutdown(socket.SHUT_RDWR)

    def _direction_ended(self) -> None:
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last:
            for sock in self._sockets:
                sock.close()
            self._done.set()
            self._on_done(self)


def _splice_until_eof(src: int, dst: int, read_end: int, write_end: int) -> None:
    """Move bytes from socket src to socket dst through a pipe until src sends FIN."""
    chunk, moved, grown = _SMALL_CHUNK, 0, False
    while count := os.splice(src, write_end, chunk):
        moved += count
        while count:
            count -= os.splice(read_end, dst, count)
        if not grown and moved >= _GROW_AFTER:
            chunk, grown = _grow(write_end), True


def _grow(write_end: int) -> int:
    """Enlarge the pipe for a bulk transfer; past the user's pipe limit keep the small one."""
    try:
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _BIG_CHUNK)
    except OSError:
        return _SMALL_CHUNK
    return _BIG_CHUNK


def _unpace_if_local(sock: socket.socket) -> None:
    """Send to a client on this host without pacing; a remote one keeps the host's choice."""
    with suppress(OSError):  # a client already gone, or not TCP: nothing to tune
        if on_this_host(sock.getsockname()[0], sock.getpeername()[0]):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, _UNPACED)


def on_this_host(local: str, peer: str) -> bool:
    """Whether a connection between these addresses runs over the loopback device."""
    return peer == local or ipaddress.ip_address(peer).is_loopback
