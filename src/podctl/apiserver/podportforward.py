"""pods/portforward, the API server's tunnel and the kubelet's port-forward in one (podctl
is both), in the three forms clients speak:

- kubectl 1.31+: a WebSocket whose subprotocol is `SPDY/3.1+portforward.k8s.io`, its binary
  messages carrying a SPDY/3.1 session cut anywhere;
- kubectl before 1.31, client-go's SPDY dialer and kubectl's fallback: the HTTP connection
  itself upgraded to SPDY/3.1;
- the Python client: a WebSocket `v4.channel.k8s.io`, a channel pair per port.

In a SPDY session each local connection kubectl accepts becomes two streams with the same
`requestID` header: an `error` stream (kubectl closes its side at once and reads it to the
end) and a `data` stream, both naming the pod's `port`. When both are there the pod's port
is dialled; a failure is written on the error stream in the kubelet's words. A FIN from
either side is passed on as a half-close; the pair ends (error stream closed) when both
directions have, or when kubectl resets the data stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import StreamReader, WSMsgType, web

from podctl.apiserver import spdy
from podctl.apiserver.routes import NOT_ALLOWED, Call, Context, blocking, subresource
from podctl.apiserver.status import ApiError
from podctl.portforward.forward import dial, dial_error
from podctl.portforward.target import endpoint_of
from podctl.store import Store

log = logging.getLogger("podctl.apiserver")

PROTOCOL = "portforward.k8s.io"
PROTOCOL_HEADER = "X-Stream-Protocol-Version"
TUNNEL = "SPDY/3.1+" + PROTOCOL
CHANNELS = "v4.channel.k8s.io"  # the Python client's: a channel pair per port
MAX_CHANNEL_PORTS = 64  # channels are numbered in a byte: 2 per port
STREAM_TYPE, PORT, REQUEST_ID = "streamtype", "port", "requestid"
ERROR, DATA = "error", "data"
CHUNK = 1024 * 1024  # one read from the pod, one data frame
# Bounds on what one client may hold open: streams, and bytes queued for a pod still being
# dialled (past it, the session waits for the dial before reading on).
MAX_STREAMS = 2048
MAX_PENDING = 4 << 20
PAIR_SECONDS = 30.0  # the kubelet's stream creation timeout: a pair's second stream is late

Send = Callable[[bytes], Awaitable[None]]


@subresource("pods", "portforward")
async def pod_portforward(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    if request.method not in ("GET", "POST"):
        raise NOT_ALLOWED
    namespace, name = call.namespace or "", call.name or ""
    pod = await blocking(ctx.store.require, "Pod", namespace, name)
    if not pod["spec"].get("nodeName"):
        raise ApiError("BadRequest", f"pod {name} does not have a host assigned")
    dialer = PodDialer(ctx.store, namespace, name)
    ws = web.WebSocketResponse(protocols=(TUNNEL, CHANNELS))
    ready = ws.can_prepare(request)
    if ready.ok and ready.protocol == CHANNELS:
        return await _channels(ws, request, dialer, channel_ports(request.query.getall(
            "ports", [])))
    if ready.ok:
        return await _tunnel(ws, request, dialer)
    return await _spdy(request, dialer)


async def _tunnel(ws: web.WebSocketResponse, request: web.Request,
                  dialer: PodDialer) -> web.StreamResponse:
    """kubectl 1.31+: the SPDY session in the WebSocket's binary messages."""
    if ws.can_prepare(request).protocol is None:
        raise ApiError("BadRequest", "unable to upgrade: no tunneling spdy protocols provided")
    await ws.prepare(request)
    session = Session(ws.send_bytes, dialer)
    try:
        async for message in ws:
            if message.type != WSMsgType.BINARY:
                break  # the tunnel carries binary messages only, as upstream's
            await session.feed(message.data)
    except spdy.ProtocolError as exc:
        log.info("port-forward to %s/%s: %s", dialer.namespace, dialer.name, exc)
    except ConnectionResetError:
        pass
    finally:
        await session.close()
        if not ws.closed:
            with contextlib.suppress(ConnectionResetError):
                await ws.close()
    return ws


async def _spdy(request: web.Request, dialer: PodDialer) -> web.StreamResponse:
    """Older clients (kubectl before 1.31, client-go's SPDY dialer) and kubectl's fallback:
    the HTTP connection upgraded to SPDY/3.1 itself, as the kubelet upgrades it."""
    connection = request.headers.get("Connection", "").lower()
    if "upgrade" not in connection or \
            "spdy/3.1" not in request.headers.get("Upgrade", "").lower():
        raise ApiError("BadRequest", "unable to upgrade: missing upgrade headers in request")
    offered = [p.strip() for value in request.headers.getall(PROTOCOL_HEADER, [])
               for p in value.split(",") if p.strip()]
    if not offered:
        raise ApiError("BadRequest", f"unable to upgrade: {PROTOCOL_HEADER} is required")
    if PROTOCOL not in offered:
        raise ApiError("Forbidden", "unable to upgrade: unable to negotiate protocol: client "
                       f"supports [{' '.join(offered)}], server accepts [{PROTOCOL}]")
    response = web.StreamResponse(status=101, headers={
        "Connection": "Upgrade", "Upgrade": "SPDY/3.1", PROTOCOL_HEADER: PROTOCOL})
    await response.prepare(request)
    incoming = StreamReader(request.protocol, CHUNK, loop=asyncio.get_running_loop())
    request.protocol.set_parser(_Raw(incoming))  # type: ignore[arg-type]
    request.protocol.keep_alive(False)
    session = Session(response.write, dialer)
    try:
        while chunk := await incoming.readany():
            await session.feed(chunk)
    except spdy.ProtocolError as exc:
        log.info("port-forward to %s/%s: %s", dialer.namespace, dialer.name, exc)
    except ConnectionResetError:
        pass
    finally:
        await session.close()
    return response


async def _channels(ws: web.WebSocketResponse, request: web.Request, dialer: PodDialer,
                    ports: list[int]) -> web.StreamResponse:
    """The Python client's protocol (v4.channel.k8s.io): one connection per port for the
    WebSocket's life, port i's bytes on channel 2i and its error on 2i+1, each channel's
    first message the port (2 bytes, little-endian); no half-close."""
    await ws.prepare(request)
    for index, port in enumerate(ports):
        for channel in (2 * index, 2 * index + 1):
            await ws.send_bytes(bytes([channel]) + port.to_bytes(2, "little"))
    # Every port dialled before the client's bytes are read: none may go nowhere.
    dialled = await asyncio.gather(*(_channel_dial(ws, dialer, port, 2 * i + 1)
                                     for i, port in enumerate(ports)))
    socks = list(dialled)
    pumps = [asyncio.create_task(_channel_out(ws, sock, 2 * i))
             for i, sock in enumerate(socks) if sock is not None]
    reader = asyncio.create_task(_channel_in(ws, socks))
    pumped = asyncio.create_task(_all(pumps))
    try:
        # The client hangs up, or every pod connection has ended (the kubelet then ends
        # the WebSocket).
        await asyncio.wait([reader, pumped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, pumped, *pumps):
            task.cancel()
        await asyncio.gather(reader, pumped, *pumps, return_exceptions=True)
        for sock in socks:
            if sock is not None:
                sock.close()
        if not ws.closed:
            with contextlib.suppress(ConnectionResetError):
                await ws.close()
    return ws


async def _all(tasks: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*tasks)


async def _channel_dial(ws: web.WebSocketResponse, dialer: PodDialer, port: int,
                        error: int) -> socket.socket | None:
    try:
        return await dialer(port)
    except DialError as exc:
        await ws.send_bytes(bytes([error]) + str(exc).encode())
        return None


async def _channel_out(ws: web.WebSocketResponse, sock: socket.socket, channel: int) -> None:
    """What the pod says, on the port's data channel, until it ends."""
    loop = asyncio.get_running_loop()
    data = bytes([channel])
    with contextlib.suppress(OSError):
        while piece := await loop.sock_recv(sock, CHUNK):
            await ws.send_bytes(data + piece)


async def _channel_in(ws: web.WebSocketResponse, socks: list[socket.socket | None]) -> None:
    """The client's bytes to the pod connection of their channel, until it hangs up."""
    loop = asyncio.get_running_loop()
    async for message in ws:
        if message.type != WSMsgType.BINARY or not message.data:
            continue
        channel, payload = message.data[0], message.data[1:]
        sock = socks[channel // 2] if channel % 2 == 0 and channel // 2 < len(socks) else None
        if sock is not None and payload:
            with contextlib.suppress(OSError):
                await loop.sock_sendall(sock, payload)


def channel_ports(values: list[str]) -> list[int]:
    """The `ports` query (repeated, or comma-separated), checked in the kubelet's words."""
    if not values:
        raise ApiError("BadRequest", 'query parameter "ports" is required')
    ports = []
    for value in values:
        if not value:
            raise ApiError("BadRequest", 'query parameter "ports" cannot be empty')
        for part in value.split(","):
            if not (part.isascii() and part.isdigit()) or int(part) > 65535:
                raise ApiError("BadRequest", f'unable to parse "{value}" as a port')
            if int(part) < 1:
                raise ApiError("BadRequest", f'port "{value}" must be > 0')
            ports.append(int(part))
    if len(ports) > MAX_CHANNEL_PORTS:
        raise ApiError("BadRequest", f"at most {MAX_CHANNEL_PORTS} ports on one connection")
    return ports


class _Raw:
    """What aiohttp feeds an upgraded connection's bytes to (as it feeds a WebSocket's
    frame reader): here, a flow-controlled byte stream."""

    def __init__(self, stream: StreamReader) -> None:
        self._stream = stream

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._stream.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self._stream.feed_eof()


@dataclass
class PodDialer:
    """Where the pod answers, read from the store at each connection (its status is the
    kubelet's), and a connection to one of its ports."""

    store: Store
    namespace: str
    name: str

    async def __call__(self, port: int) -> socket.socket:
        pod = await blocking(self.store.get, "Pod", self.namespace, self.name)
        endpoint = endpoint_of(pod) if pod is not None else None
        if endpoint is None:
            raise DialError(f"error forwarding port {port} to pod {self.name}, uid "
                            f"{(pod or {}).get('metadata', {}).get('uid', '')}: "
                            f'pod "{self.name}" is not running')
        try:
            return await dial(endpoint.ip, port)
        except OSError as exc:
            raise DialError(dial_error(endpoint, port, exc)) from exc


class DialError(Exception):
    """The pod's port cannot be reached; the message is the kubelet's."""


Dialer = Callable[[int], Awaitable[socket.socket]]


@dataclass
class Pair:
    """One forwarded connection: its two streams, the pod's socket, and how far each
    direction has got."""

    request_id: str
    port: int
    error: int = 0
    data: int = 0
    sock: socket.socket | None = None
    pending: list[bytes] = field(default_factory=list)
    pending_bytes: int = 0
    client_done: bool = False  # kubectl sent FIN (or reset) on the data stream
    pod_done: bool = False  # the pod's side ended and kubectl was told
    ended: bool = False
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None


class Session:
    """One SPDY session: frames from kubectl in, frames and pod connections out."""

    def __init__(self, send: Send, dialer: Dialer) -> None:
        self._send = send
        self._dial = dialer
        self._reader = spdy.Reader()
        self._writer = spdy.Writer()
        self._pairs: dict[str, Pair] = {}
        self._streams: dict[int, Pair] = {}
        self._closed = False

    async def feed(self, chunk: bytes) -> None:
        for frame in self._reader.feed(chunk):
            if isinstance(frame, spdy.Data):
                await self._data(frame)
            elif isinstance(frame, spdy.SynStream):
                await self._syn_stream(frame)
            elif isinstance(frame, spdy.RstStream):
                await self._reset(frame.stream)
            elif isinstance(frame, spdy.Ping):
                await self._send(spdy.ping(frame.id))
            elif isinstance(frame, spdy.GoAway):
                raise ConnectionResetError("the client went away")

    async def close(self) -> None:
        """The tunnel is gone: every pod connection goes with it."""
        self._closed = True
        pairs = list(self._pairs.values())
        tasks = [task for pair in pairs for task in pair.tasks]
        for pair in pairs:
            self._drop(pair)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pairs.clear()
        self._streams.clear()

    # -- streams ------------------------------------------------------------------------------

    async def _syn_stream(self, frame: spdy.SynStream) -> None:
        problem = stream_problem(frame.headers)
        if problem is None and len(self._streams) >= MAX_STREAMS:
            problem = "too many streams"
        if problem is not None:
            log.info("port-forward stream %d refused: %s", frame.stream, problem)
            await self._send(spdy.rst_stream(frame.stream, spdy.CANCEL))
            return
        await self._send(self._writer.syn_reply(frame.stream))
        kind = frame.headers[STREAM_TYPE][0]
        request_id = _request_id(frame.headers, frame.stream, kind)
        pair = self._pairs.get(request_id)
        if pair is None:
            pair = Pair(request_id, int(frame.headers[PORT][0]))
            self._pairs[request_id] = pair
            pair.timer = asyncio.get_running_loop().call_later(
                PAIR_SECONDS, self._late, pair)
        if getattr(pair, kind):
            await self._error(pair, f"error processing stream for request {request_id}: "
                              f"{kind} stream already assigned")
            return
        setattr(pair, kind, frame.stream)
        self._streams[frame.stream] = pair
        if pair.error and pair.data:
            if pair.timer is not None:
                pair.timer.cancel()
            self._start(pair, self._connect(pair))

    def _late(self, pair: Pair) -> None:
        if pair.ended or (pair.error and pair.data):
            return
        self._start(pair, self._fail(pair, f"(conn=tunnel, request={pair.request_id}) timed "
                                     "out waiting for streams"))

    def _start(self, pair: Pair, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        pair.tasks.add(task)
        task.add_done_callback(pair.tasks.discard)

    # -- one connection ----------------------------------------------------------------------

    async def _connect(self, pair: Pair) -> None:
        try:
            sock = await self._dial(pair.port)
        except DialError as exc:
            await self._fail(pair, str(exc))
            return
        if pair.ended:
            sock.close()
            return
        loop = asyncio.get_running_loop()
        try:
            while pair.pending:  # what kubectl sent while the pod was being dialled
                pending = b"".join(pair.pending)
                pair.pending.clear()
                await loop.sock_sendall(sock, pending)
        except OSError:
            sock.close()
            await self._reset_pair(pair)
            return
        pair.sock = sock
        pair.connected.set()
        if pair.client_done:
            _write_eof(sock)
        await self._pod_to_client(pair, sock)

    async def _pod_to_client(self, pair: Pair, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            while piece := await loop.sock_recv(sock, CHUNK):
                if pair.ended:
                    return
                # Head and payload as two messages (kubectl reads the tunnel as one byte
                # stream): no copy of the payload to join them.
                await self._send(spdy.data_head(pair.data, len(piece)))
                await self._send(piece)
        except OSError:
            await self._reset_pair(pair)
            return
        if not pair.ended:
            await self._send(spdy.data(pair.data, fin=True))
            pair.pod_done = True
            if pair.client_done:
                await self._end(pair)

    async def _data(self, frame: spdy.Data) -> None:
        pair = self._streams.get(frame.stream)
        if pair is None or pair.ended or frame.stream != pair.data:
            return  # the error stream's FIN, or a stream already gone
        if frame.data:
            await self._to_pod(pair, frame.data)
        if frame.fin:
            pair.client_done = True
            if pair.sock is not None:
                _write_eof(pair.sock)
                if pair.pod_done:
                    await self._end(pair)

    async def _to_pod(self, pair: Pair, piece: bytes) -> None:
        if pair.sock is None:
            pair.pending.append(piece)
            pair.pending_bytes += len(piece)
            if pair.pending_bytes > MAX_PENDING:
                await pair.connected.wait()
            return
        try:
            await asyncio.get_running_loop().sock_sendall(pair.sock, piece)
        except OSError:
            await self._reset_pair(pair)

    async def _reset_pair(self, pair: Pair) -> None:
        """The pod's connection broke: kubectl's data stream is reset."""
        if not pair.ended:
            await self._send(spdy.rst_stream(pair.data, spdy.CANCEL))
            await self._end(pair)

    async def _reset(self, stream: int) -> None:
        """kubectl resets the data stream once the pod's side has ended (or to abort)."""
        pair = self._streams.get(stream)
        if pair is not None and stream == pair.data and not pair.ended:
            await self._end(pair)

    async def _fail(self, pair: Pair, message: str) -> None:
        """The kubelet's way: the message on the error stream, then both streams closed."""
        if pair.ended:
            return
        await self._error(pair, message)
        if pair.data:
            await self._send(spdy.data(pair.data, fin=True))
        await self._end(pair)

    async def _error(self, pair: Pair, message: str) -> None:
        if pair.error:
            await self._send(spdy.data(pair.error, message.encode()))

    async def _end(self, pair: Pair) -> None:
        """Close the pod's socket and the error stream (kubectl's read of it returns)."""
        if pair.ended:
            return
        self._drop(pair)
        if pair.error and not self._closed:
            await self._send(spdy.data(pair.error, fin=True))

    def _drop(self, pair: Pair) -> None:
        pair.ended = True
        pair.connected.set()
        if pair.timer is not None:
            pair.timer.cancel()
        if pair.sock is not None:
            pair.sock.close()
        self._pairs.pop(pair.request_id, None)
        for stream in (pair.error, pair.data):
            self._streams.pop(stream, None)


def _write_eof(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def stream_problem(headers: spdy.Headers) -> str | None:
    """Why the kubelet refuses a new stream (its wording), or None."""
    port = (headers.get(PORT) or [""])[0]
    if not port:
        return '"port" header is required'
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        return f'unable to parse "{port}" as a port: strconv.ParseUint: parsing "{port}": ' \
               + ("value out of range" if port.isascii() and port.isdigit()
                  else "invalid syntax")
    if int(port) < 1:
        return f'port "{port}" must be > 0'
    kind = (headers.get(STREAM_TYPE) or [""])[0]
    if not kind:
        return '"streamType" header is required'
    if kind not in (ERROR, DATA):
        return f'invalid stream type "{kind}"'
    return None


def _request_id(headers: spdy.Headers, stream: int, kind: str) -> str:
    """The requestID header; an old client sends none, and the kubelet pairs its
    consecutive streams (error, then data two ids later)."""
    given = (headers.get(REQUEST_ID) or [""])[0]
    if given:
        return given
    return str(stream if kind == ERROR else stream - 2)
