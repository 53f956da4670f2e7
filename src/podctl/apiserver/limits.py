"""How much the API takes on at once and for how long: the bounds that keep one process's
controller loops fed however clients behave. Numbers and the pure decisions on them; the
filters that apply them are in `filters`.

Upstream's numbers are for a dedicated server with many cores: 400 read-only and 200
mutating requests in flight, a 60 s request timeout, 32 s to send request headers, 90 s
for an idle connection. podctl serves from the controller's own process on a laptop, so
the counts are a tenth of those, and the header and idle timeouts are short enough that a
client holding connections open without sending a request holds each for 10 s at most.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from podctl.api.duration import parse_duration
from podctl.apiserver.requestinfo import RequestInfo
from podctl.apiserver.status import ApiError

# A whole request head (and, with TLS, the handshake before it) must arrive within this
# from the connection's start or the end of the previous response; that is also how long
# an idle keep-alive connection stays open. Legitimate clients send their head in one
# packet; 10 s still allows a few TCP retransmissions on a poor link.
HEADER_SECONDS = 10.0
# A body must start arriving within this after its head, and then keep up a minimum rate
# (as Apache's mod_reqtimeout does): a client trickling a byte now and then is dropped,
# a large body on a slow link is not.
BODY_SECONDS = 10.0
BODY_MIN_RATE = 1024.0  # bytes per second, earning time beyond BODY_SECONDS
# Upstream's --request-timeout default: a non-long-running request answers within this
# (`?timeout=` may shorten it), or gets 504.
REQUEST_SECONDS = 60.0
# Upstream's --max-requests-inflight and --max-mutating-requests-inflight, a tenth.
MAX_READ_ONLY = 40
MAX_MUTATING = 20
# Upstream counts no long-running request; podctl bounds them too: each watch holds a
# buffer of events, each log follow, exec or attach a thread and a Docker connection.
MAX_LONG_RUNNING = 100
# Open connections at most (each an fd, and memory for its buffers); never more than a
# quarter of the process's file descriptors, so the controller's Docker and store
# connections always find one. A connection over the limit is closed at once.
MAX_CONNECTIONS = 1000
# Threads for ordinary requests' work (see pools.py): a few for reads, fewer for writes.
READ_THREADS = 6
WRITE_THREADS = 2
RETRY_AFTER_SECONDS = 1
TOO_MANY = "Too many requests, please try again later."
TIMED_OUT = "Timeout: request did not complete within the allotted timeout"

READ_ONLY, MUTATING, LONG_RUNNING = "readOnly", "mutating", "longRunning"


@dataclass
class InFlight:
    """Requests being served now, by kind; a request over its kind's limit is refused."""

    read_only: int = 0
    mutating: int = 0
    long_running: int = 0

    def enter(self, info: RequestInfo) -> str | None:
        """The kind the request now counts as, or None when that kind is full."""
        kind = LONG_RUNNING if info.long_running else MUTATING if info.mutating else READ_ONLY
        if self.count(kind) >= self.limit(kind):
            return None
        setattr(self, _field(kind), self.count(kind) + 1)
        return kind

    def leave(self, kind: str) -> None:
        setattr(self, _field(kind), self.count(kind) - 1)

    def count(self, kind: str) -> int:
        return int(getattr(self, _field(kind)))

    @staticmethod
    def limit(kind: str) -> int:
        return {READ_ONLY: MAX_READ_ONLY, MUTATING: MAX_MUTATING,
                LONG_RUNNING: MAX_LONG_RUNNING}[kind]


def _field(kind: str) -> str:
    return {READ_ONLY: "read_only", MUTATING: "mutating", LONG_RUNNING: "long_running"}[kind]


def request_seconds(query: Mapping[str, str]) -> float:
    """The time a non-long-running request has: `?timeout=` when it is shorter than the
    server's (0 or negative: the server's), as upstream's request deadline."""
    text = query.get("timeout")
    if not text:
        return REQUEST_SECONDS
    try:
        asked = parse_duration(text)
    except ValueError as exc:
        raise ApiError("BadRequest",
                       f"invalid timeout specified in the request URL - {exc}") from exc
    return asked if 0 < asked < REQUEST_SECONDS else REQUEST_SECONDS


def body_overdue(elapsed: float, received: int) -> bool:
    """Whether a body still arriving after `elapsed` seconds, `received` bytes of it so
    far, has been too slow."""
    return elapsed > BODY_SECONDS + received / BODY_MIN_RATE


def max_connections(fd_limit: int) -> int:
    """MAX_CONNECTIONS, or a quarter of `fd_limit` (the process's soft RLIMIT_NOFILE; -1 for
    none) when that is less."""
    return MAX_CONNECTIONS if fd_limit < 0 else max(1, min(MAX_CONNECTIONS, fd_limit // 4))
