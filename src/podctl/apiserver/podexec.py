"""pods/exec and pods/attach over WebSocket, as the kubelet serves them through the API
server: the channel protocols `v5.channel.k8s.io` (with stdin half-close) and
`v4.channel.k8s.io`, on Docker's hijacked exec and attach connections.

Every binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 error (one
metav1.Status when the process ends), 4 resize (`{"Width": w, "Height": h}`); v5's message
255 + channel id closes that channel (kubectl sends it when its stdin ends)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from podctl.api.meta import Obj
from podctl.apiserver.params import go_bool
from podctl.apiserver.routes import NOT_ALLOWED, Call, Context, blocking, streaming, subresource
from podctl.apiserver.status import ApiError
from podctl.errors import PodctlError
from podctl.kubelet import lookup
from podctl.runtime import engines, hijack

log = logging.getLogger("podctl.apiserver")

V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)
STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE = 255  # v5: "this channel is closed", followed by the channel's id


def frame(channel: int, data: bytes = b"") -> bytes:
    return bytes([channel]) + data


def parse(message: bytes) -> tuple[int, bytes] | None:
    """(channel, payload) of a client message; None for an empty one (ignored)."""
    if not message:
        return None
    return message[0], message[1:]


def success() -> Obj:
    return {"metadata": {}, "status": "Success"}


def exit_status(command: list[str], code: int) -> Obj:
    """What the kubelet reports for a non-zero exit: kubectl takes the code from the cause
    and exits with it (`command terminated with exit code N`)."""
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(command)}], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def failure(message: str) -> Obj:
    return {"metadata": {}, "status": "Failure", "message": message,
            "reason": "InternalError", "code": 500}


def terminal_size(payload: bytes) -> tuple[int, int] | None:
    """(width, height) of a resize message; None when it is not one."""
    try:
        size = json.loads(payload)
        width, height = int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None
    return (width, height) if width > 0 and height > 0 else None


@dataclass(frozen=True)
class Options:
    container: str | None
    command: list[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def options(request: web.Request, attach: bool) -> Options:
    def flag(name: str, default: bool = False) -> bool:
        value = request.query.get(name)
        return default if value is None else go_bool(value)

    opts = Options(request.query.get("container") or None, request.query.getall("command", []),
                   flag("stdin"), flag("stdout", True), flag("stderr", True), flag("tty"))
    if not attach and not opts.command:
        raise ApiError("BadRequest", "you must specify at least 1 command")
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise ApiError("BadRequest", "you must specify at least one of stdin, stdout, stderr")
    return opts


def _target(ctx: Context, namespace: str, name: str, container: str | None) -> lookup.Target:
    if container is None:
        # The API names no default (kubectl chooses one itself): one container or an error.
        pod = ctx.store.require("Pod", namespace, name)
        names = [c["name"] for c in pod["spec"].get("containers", [])]
        if len(names) > 1:
            raise ApiError("BadRequest", f"a container name must be specified for pod {name}, "
                           f"choose one of: [{' '.join(names)}]")
    return lookup.exec_target(ctx.store, namespace, name, container)


@subresource("pods", "exec")
async def pod_exec(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    return await _serve(ctx, call, request, attach=False)


@subresource("pods", "attach")
async def pod_attach(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    return await _serve(ctx, call, request, attach=True)


async def _serve(ctx: Context, call: Call, request: web.Request,
                 attach: bool) -> web.StreamResponse:
    if request.method not in ("GET", "POST"):
        raise NOT_ALLOWED
    opts = options(request, attach)
    target = await blocking(_target, ctx, call.namespace or "", call.name or "", opts.container)
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    ready = ws.can_prepare(request)
    if not ready.ok:
        # kubectl falls back to SPDY when the WebSocket upgrade fails; podctl has no SPDY.
        raise ApiError("BadRequest", "podctl serves exec and attach over WebSocket only "
                       f"({V5} or {V4}); upgrade to a WebSocket")
    if ready.protocol is None:
        raise ApiError("BadRequest", f"no supported subprotocol: use {V5} or {V4}")
    await ws.prepare(request)
    try:
        await _stream(ws, target, opts, attach, ready.protocol == V5)
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:  # the WebSocket is open: no Status can be answered any more
        log.exception("the %s stream failed", "attach" if attach else "exec")
    finally:
        if not ws.closed:
            with contextlib.suppress(ConnectionResetError):
                await ws.close()
    return ws


async def _stream(ws: web.WebSocketResponse, target: lookup.Target, opts: Options,
                  attach: bool, v5: bool) -> None:
    # The kubelet's "connection established" signal: an empty message on the lowest
    # channel the client reads.
    await ws.send_bytes(frame(STDOUT if opts.stdout else STDERR if opts.stderr else ERROR))
    try:
        if attach:
            session = await blocking(engines.bound(target.engine, hijack.open_attach),
                                     target.container_id, opts.stdin, opts.stdout,
                                     opts.stderr)
        else:
            session = await blocking(engines.bound(target.engine, hijack.open_exec),
                                     target.container_id, opts.command, opts.stdin,
                                     opts.stdout, opts.stderr, opts.tty)
    except PodctlError as exc:
        await ws.send_bytes(frame(ERROR, json.dumps(failure(str(exc))).encode()))
        return
    except Exception as exc:  # Docker refused: the client gets a Status, as for the rest
        log.exception("opening a %s stream failed", "attach" if attach else "exec")
        await ws.send_bytes(frame(ERROR, json.dumps(failure(
            f"error executing command in container: {exc}")).encode()))
        return
    reader = asyncio.create_task(_client_input(ws, session, v5))
    try:
        frames: Iterator[tuple[int, bytes]] = session.frames()
        while True:
            try:
                # Docker's socket blocks: each read in a thread, the loop stays free.
                item = await streaming(next, frames, None)
            except (ValueError, OSError):
                if reader.done() or ws.closed:
                    return  # the client left and its input task closed the connection
                raise
            if item is None:
                break
            channel, data = item
            await ws.send_bytes(frame(STDERR if channel == hijack.STDERR and not opts.tty
                                      else STDOUT, data))
        code = await blocking(session.exit_code)
        status = success() if code == 0 else exit_status(opts.command, code)
        await ws.send_bytes(frame(ERROR, json.dumps(status).encode()))
    except ConnectionResetError:
        pass  # the client went away; the process's connection is closed below
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await reader
        await blocking(session.close)


async def _client_input(ws: web.WebSocketResponse, session: hijack.Session, v5: bool) -> None:
    """The client's stdin, resizes and (v5) channel closes, until it hangs up."""
    async for message in ws:
        # Binary as kubectl sends; the Python client sends text frames (as upstream reads
        # both alike).
        if message.type == WSMsgType.BINARY:
            parsed = parse(message.data)
        elif message.type == WSMsgType.TEXT:
            parsed = parse(message.data.encode())
        else:
            continue
        if parsed is None:
            continue
        channel, payload = parsed
        if channel == STDIN and payload:
            try:
                await blocking(session.write, payload)
            except (OSError, ValueError):
                break  # the process's stdin is gone: nothing more to give it
        elif channel == RESIZE:
            size = terminal_size(payload)
            if size is not None:
                # Docker refuses to resize a process without a terminal: nothing to do.
                with contextlib.suppress(Exception):
                    await blocking(session.resize, *size)
        elif v5 and channel == CLOSE and payload[:1] == bytes([STDIN]):
            await blocking(session.close_stdin)
    # The client is gone: end the process's connection so the output loop ends too.
    await blocking(session.close)
