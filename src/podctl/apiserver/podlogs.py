"""pods/log: a container's output from Docker, as the kubelet serves it through the API
(container, follow, previous, tailLines, timestamps, sinceSeconds, sinceTime, limitBytes)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from podctl.api.labels import go_quote
from podctl.api.meta import parse_time
from podctl.apiserver.params import go_bool, go_int
from podctl.apiserver.routes import NOT_ALLOWED, Call, Context, blocking, streaming, subresource
from podctl.apiserver.status import ApiError, invalid
from podctl.kubelet import lookup
from podctl.runtime import engines
from podctl.runtime.streams import LogStream


def _flag(request: web.Request, name: str) -> bool:
    return go_bool(request.query.get(name))


def _number(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    return None if text is None else go_int(text)


@dataclass(frozen=True)
class LogOptions:
    follow: bool
    previous: bool
    timestamps: bool
    tail: int | None
    limit: int | None
    since: datetime | None


def log_options(request: web.Request, name: str) -> LogOptions:
    """PodLogOptions decoded (400) and validated (422) in upstream's words."""
    tail, limit = _number(request, "tailLines"), _number(request, "limitBytes")
    seconds, since_time = _number(request, "sinceSeconds"), request.query.get("sinceTime")
    errors = []
    if tail is not None and tail < 0:
        errors.append(("tailLines", f"Invalid value: {tail}: must be greater than or equal "
                       "to 0"))
    if limit is not None and limit < 1:
        errors.append(("limitBytes", f"Invalid value: {limit}: must be greater than 0"))
    if seconds is not None and since_time is not None:
        errors.append(("", "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be "
                       "specified"))
    elif seconds is not None and seconds < 1:
        errors.append(("sinceSeconds", f"Invalid value: {seconds}: must be greater than 0"))
    if errors:
        raise invalid("PodLogOptions", name, errors)
    return LogOptions(_flag(request, "follow"), _flag(request, "previous"),
                      _flag(request, "timestamps"), tail, limit, _since(seconds, since_time))


def _since(seconds: int | None, text: str | None) -> datetime | None:
    """sinceSeconds (kubectl logs --since) or sinceTime (--since-time), as a moment; one
    before any container's start is no limit at all."""
    if seconds is not None:
        try:
            return datetime.now(UTC) - timedelta(seconds=seconds)
        except OverflowError:
            return None
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ApiError("BadRequest", f"parsing time {go_quote(text)} as "
                       f'"2006-01-02T15:04:05Z07:00": cannot parse {go_quote(text)} as '
                       '"2006"') from exc


def _container(ctx: Context, namespace: str, name: str, container: str | None,
               previous: bool) -> lookup.Target:
    if container is None:
        # The API names no default: one container or the client must choose.
        pod = ctx.store.get("Pod", namespace, name)
        names = [c["name"] for c in (pod or {}).get("spec", {}).get("containers", [])]
        if len(names) > 1:
            raise ApiError("BadRequest", f"a container name must be specified for pod {name}, "
                           f"choose one of: [{' '.join(names)}]")
    return lookup.resolve(ctx.store, namespace, name, container, previous)


@subresource("pods", "log")
async def pod_log(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    if request.method != "GET":
        raise NOT_ALLOWED
    namespace, name = call.namespace or "", call.name or ""
    opts = log_options(request, name)
    target = await blocking(_container, ctx, namespace, name,
                            request.query.get("container") or None, opts.previous)
    stream = await streaming(engines.bound(target.engine, LogStream), target.container_id,
                             opts.follow and not opts.previous,
                             -1 if opts.tail is None else opts.tail, opts.timestamps, opts.since)
    try:
        return await _send(request, iter(stream), opts.limit)
    finally:
        # A client that hangs up cancels this handler (handler_cancellation), not the read
        # a quiet follow blocks in its thread: closing the stream ends that read and gives
        # back the thread and Docker's connection.
        stream.close()


async def _send(request: web.Request, chunks: Iterator[bytes],
                limit: int | None) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    sent = 0
    try:
        while True:
            # Docker's stream blocks: each read in a thread, the loop stays free.
            chunk = await streaming(next, chunks, None)
            if chunk is None:
                break
            if limit is not None:
                chunk = chunk[:max(0, limit - sent)]
            await response.write(chunk)
            sent += len(chunk)
            if limit is not None and sent >= limit:
                break
    except ConnectionResetError:
        return response
    with contextlib.suppress(ConnectionResetError):  # the client left at the end
        await response.write_eof()
    return response
