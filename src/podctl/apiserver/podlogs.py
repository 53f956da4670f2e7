"""pods/log: a container's output from Docker, as the kubelet serves it through the API
(container, follow, previous, tailLines, timestamps, sinceSeconds, sinceTime, limitBytes)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from aiohttp import web

from podctl.api.meta import parse_time
from podctl.apiserver.routes import NOT_ALLOWED, Call, Context, blocking, subresource
from podctl.apiserver.status import ApiError
from podctl.kubelet import lookup
from podctl.runtime.streams import log_chunks


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")


def _number(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text in (None, ""):
        return None
    try:
        return int(str(text))
    except ValueError as exc:
        raise ApiError("BadRequest", f"{name}: invalid value {text!r}") from exc


def _since(request: web.Request) -> datetime | None:
    """sinceSeconds (kubectl logs --since) or sinceTime (--since-time), as a moment."""
    seconds = _number(request, "sinceSeconds")
    if seconds is not None:
        return datetime.now(UTC) - timedelta(seconds=seconds)
    text = request.query.get("sinceTime")
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ApiError("BadRequest", f"sinceTime: invalid value {text!r}") from exc


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
    follow, previous = _flag(request, "follow"), _flag(request, "previous")
    tail = _number(request, "tailLines")
    limit = _number(request, "limitBytes")
    target = await blocking(_container, ctx, namespace, name,
                            request.query.get("container") or None, previous)
    chunks: Iterator[bytes] = log_chunks(target.container_id, follow and not previous,
                                         -1 if tail is None else tail,
                                         _flag(request, "timestamps"), _since(request))
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    sent = 0
    try:
        while True:
            # Docker's stream blocks: each read in a thread, the loop stays free.
            chunk = await asyncio.to_thread(next, chunks, None)
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
    await response.write_eof()
    return response
