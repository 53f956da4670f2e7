"""The one routing table of the API: paths to discovery documents, resource verbs and
subresource handlers. A subresource (pods/log, pods/exec, deployments/scale...) is one
`@subresource(resource, name)` function; everything else is resolved here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from podctl.api.meta import Obj
from podctl.apiserver import objects, resources
from podctl.apiserver.resources import Target
from podctl.apiserver.status import ApiError, from_error
from podctl.apiserver.tables import build_table, wants_table
from podctl.errors import PodctlError
from podctl.store import Store

T = TypeVar("T")


@dataclass
class Context:
    """What every handler may use: the store (shared, thread-safe) and the home."""

    store: Store
    home: Path
    hub: Any = None  # the watch hub (podctl.apiserver.watch.Hub) once serving


@dataclass
class Call:
    """A resource request as its path names it."""

    target: Target
    namespace: str | None  # None: across namespaces (or a cluster-scoped kind)
    name: str | None
    subresource: str | None


SubresourceHandler = Callable[[Context, Call, web.Request], Awaitable[web.StreamResponse]]
# (resource, subresource) -> handler; streaming ones (log, exec, attach, portforward) too.
SUBRESOURCE_HANDLERS: dict[tuple[str, str], SubresourceHandler] = {}


def subresource(resource: str, name: str) -> Callable[[SubresourceHandler], SubresourceHandler]:
    def register(handler: SubresourceHandler) -> SubresourceHandler:
        SUBRESOURCE_HANDLERS[(resource, name)] = handler
        return handler

    return register


def json_response(body: Obj, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status,
                        content_type="application/json")


def error_response(error: ApiError) -> web.Response:
    return json_response(error.status(), error.code)


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Store and Docker calls block: run them off the event loop."""
    return await asyncio.to_thread(fn, *args)


def parse_call(segments: list[str]) -> Call | None:
    """`api/v1/...` or `apis/<group>/<version>/...` after the group version: [namespaces,
    <ns>,] <resource> [, <name> [, <subresource>]]. None when nothing is named there."""
    if segments[0] == "api":
        group, version, rest = "", segments[1], segments[2:]
    else:
        if len(segments) < 3:
            return None
        group, version, rest = segments[1], segments[2], segments[3:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces" and \
            resources.find(group, version, rest[2]) is not None:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    target = resources.find(group, version, rest[0])
    if target is None:
        return None
    if not target.resource.namespaced:
        namespace = None
    elif namespace is None and len(rest) > 1:
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return Call(target, namespace, name, sub)


async def dispatch(request: web.Request) -> web.StreamResponse:
    ctx: Context = request.app["ctx"]
    segments = [s for s in request.path.split("/") if s]
    try:
        doc = resources.document(segments)
        if doc is not None:
            return json_response(doc)
        call = parse_call(segments) if segments and segments[0] in ("api", "apis") \
            and len(segments) >= 2 else None
        if call is None:
            raise ApiError("NotFound", "the server could not find the requested resource",
                           {})
        if call.subresource is not None:
            handler = SUBRESOURCE_HANDLERS.get((call.target.resource.name, call.subresource))
            if handler is None:
                raise ApiError("NotFound", "the server could not find the requested resource",
                               {})
            return await handler(ctx, call, request)
        return await _resource(ctx, call, request)
    except ApiError as exc:
        return error_response(exc)
    except PodctlError as exc:
        return error_response(from_error(exc, call.target.group if call else ""))


async def _resource(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    method = request.method
    if method == "GET":
        if call.name is None:
            if request.query.get("watch") in ("1", "true"):
                from podctl.apiserver.watch import serve_watch

                return await serve_watch(ctx, call, request)
            return await _list(ctx, call, request)
        obj = await blocking(objects.get_object, ctx.store, call.target.kind,
                             call.namespace or "", call.name)
        return _answer(call, request, [obj], single=True)
    raise ApiError("MethodNotAllowed", "the server does not allow this method on the "
                   "requested resource", {})


async def _list(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    query = objects.ListQuery(
        label_selector=request.query.get("labelSelector"),
        field_selector=request.query.get("fieldSelector"),
        limit=int(request.query.get("limit") or 0),
        continue_token=request.query.get("continue") or None)
    page = await blocking(objects.list_objects, ctx.store, call.target.kind, call.namespace,
                          query)
    body = objects.list_body(call.target.kind, page)
    if wants_table(request.headers.get("Accept", "")):
        return json_response(build_table(call.target.kind, page.items, datetime.now(UTC),
                                         request.query.get("includeObject", "Metadata"),
                                         body["metadata"]))
    return json_response(body)


def _answer(call: Call, request: web.Request, objs: list[Obj],
            single: bool) -> web.Response:
    kind = call.target.kind
    if wants_table(request.headers.get("Accept", "")):
        return json_response(build_table(kind, objs, datetime.now(UTC),
                                         request.query.get("includeObject", "Metadata")))
    return json_response(objects.with_type(kind, objs[0]))


def make_app(ctx: Context, middlewares: list[Any]) -> web.Application:
    app = web.Application(middlewares=middlewares, client_max_size=32 * 1024 * 1024)
    app["ctx"] = ctx
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
