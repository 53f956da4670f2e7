"""The API server's filters around every handler, outermost first: `observe` (what the
request is, and its metrics), then authentication (server.py), then `limit`: upstream's
max-in-flight (429 with Retry-After), its deadline for non-long-running requests (504),
and a watch on request bodies still arriving, so a client trickling one is dropped.

A non-long-running answer is sent within its deadline too (upstream's handler writes its
answer inside the timeout filter): a client that does not read it cannot hold the
request, or the answer's memory, past the deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from podctl.apiserver import pools
from podctl.apiserver.limits import (
    RETRY_AFTER_SECONDS,
    TIMED_OUT,
    TOO_MANY,
    InFlight,
    body_overdue,
    request_seconds,
)
from podctl.apiserver.metrics import ApiMetrics
from podctl.apiserver.requestinfo import RequestInfo, request_info
from podctl.apiserver.routes import error_response
from podctl.apiserver.status import ApiError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INFO = "podctl.request_info"
SWEEP_SECONDS = 0.5


def too_many_requests() -> web.Response:
    """Upstream's answer, word for word: plain text and Retry-After (client-go waits that
    long and tries again)."""
    return web.Response(text=TOO_MANY + "\n", status=429, content_type="text/plain",
                        charset="utf-8",
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS),
                                 "X-Content-Type-Options": "nosniff"})


class Filters:
    def __init__(self, metrics: ApiMetrics, in_flight: InFlight) -> None:
        self.metrics = metrics
        self.in_flight = in_flight
        # id(request) -> (request, when its head arrived): bodies still arriving
        self._bodies: dict[int, tuple[web.Request, float]] = {}

    def around(self, authenticate: Any, authorize: Any | None = None) -> list[Any]:
        """The middlewares, in upstream's order: observe, authentication, limit, then
        authorization (impersonation with it)."""
        return [_middleware(self.observe), authenticate, _middleware(self.limit),
                *([authorize] if authorize is not None else [])]

    async def observe(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        info = request_info(request.method, request.path, request.query,
                            request.headers.get("Content-Type", ""))
        request[INFO] = info
        started = time.perf_counter()
        code: int | None = None
        self.metrics.started(info)
        try:
            response = await handler(request)
            code = response.status
            return response
        except web.HTTPException as exc:
            code = exc.status
            raise
        except ConnectionResetError:
            if not _client_gone(request):
                raise
            return web.Response()  # nobody to send it to: aiohttp drops it quietly
        finally:
            self.metrics.finished(info, code, time.perf_counter() - started)

    async def limit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        info: RequestInfo = request[INFO]
        if info.probe:
            return await handler(request)
        kind = self.in_flight.enter(info)
        if kind is None:
            return too_many_requests()
        # This request's task only; a long-running one's short calls (a watch's reads, an
        # exec's stdin) are not held up behind writes.
        pools.serving_a_write.set(info.mutating and not info.long_running)
        try:
            if info.long_running:
                return await handler(request)
            return await self._bounded(request, handler)
        finally:
            self.in_flight.leave(kind)

    async def _bounded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            seconds = request_seconds(request.query)
        except ApiError as exc:
            return error_response(exc)
        if request.body_exists and not request.content.is_eof():
            self._bodies[id(request)] = (request, time.monotonic())
        response: web.StreamResponse | None = None
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                response = await handler(request)
                await response.prepare(request)
                await response.write_eof()
        except TimeoutError:
            if not deadline.expired():
                raise
            if response is None or not response.prepared:
                return error_response(ApiError("Timeout", TIMED_OUT, {}))
            _drop(request)  # its head is out: only a broken connection tells the client
            return response
        finally:
            self._bodies.pop(id(request), None)
        return response

    async def sweep_bodies(self) -> None:
        """Drop the connections whose request body comes too slowly (see limits)."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = time.monotonic()
            for key, (request, since) in list(self._bodies.items()):
                content = request.content
                if content.is_eof():
                    del self._bodies[key]
                elif body_overdue(now - since, content.total_bytes):
                    del self._bodies[key]
                    _drop(request)


def _middleware(method: Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
                ) -> Any:
    @web.middleware
    async def run(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await method(request, handler)

    return run


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.close()


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
