"""The one routing table of the API: paths to discovery documents, resource verbs and
subresource handlers. A subresource (pods/log, pods/exec, deployments/scale...) is one
`@subresource(resource, name)` function; everything else is resolved here."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from podctl.api.meta import Obj
from podctl.apiserver import apply as applies
from podctl.apiserver import (
    bodies,
    objects,
    params,
    pools,
    protobuf,
    resourcemetrics,
    resources,
    writes,
)
from podctl.apiserver import patch as patches
from podctl.apiserver.openapi import V2_PROTOBUF
from podctl.apiserver.resources import Target
from podctl.apiserver.status import ApiError, from_error
from podctl.apiserver.tables import build_table, wants_table
from podctl.errors import PodctlError
from podctl.store import Store

T = TypeVar("T")
log = logging.getLogger("podctl.apiserver")


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


# kind -> the handler of a create that stores nothing (the reviews: podctl.apiserver.authz;
# TokenReview: podctl.apiserver.satokens).
CreateHandler = Callable[[Context, Call, web.Request, Any], Awaitable[web.StreamResponse]]
CREATE_HANDLERS: dict[str, CreateHandler] = {}
# The request's check of the object a write stores (authz's escalation guard), if any.
WRITE_GUARD = "podctl.write_guard"


def subresource(resource: str, name: str) -> Callable[[SubresourceHandler], SubresourceHandler]:
    def register(handler: SubresourceHandler) -> SubresourceHandler:
        SUBRESOURCE_HANDLERS[(resource, name)] = handler
        return handler

    return register


def json_response(body: Obj, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status,
                        content_type="application/json", headers=headers)


def error_response(error: ApiError) -> web.Response:
    return json_response(error.status(), error.code, error.headers())


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Store and Docker calls block: run them on the API's request threads."""
    return await pools.run_in(pools.installed().requests, fn, *args)


async def streaming(fn: Callable[..., T], *args: Any) -> T:
    """A read that blocks for as long as a stream lasts (a log follow, exec output): on the
    threads of long-running requests, never on the requests' own."""
    return await pools.run_in(pools.installed().streams, fn, *args)


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


def _call(segments: list[str]) -> Call | None:
    return parse_call(segments) if segments and segments[0] in ("api", "apis") \
        and len(segments) >= 2 else None


async def dispatch(request: web.Request) -> web.StreamResponse:
    ctx: Context = request.app["ctx"]
    segments = [s for s in request.path.split("/") if s]
    call: Call | None = None
    try:
        if segments[:1] == ["openapi"]:
            return _openapi(segments[1:], request.headers.get("Accept", ""))
        if len(segments) <= 3 and segments[:1] == ["apis"]:
            await blocking(ctx.store.refresh_kinds)  # the groups CRDs serve, as they are
        if segments[:2] == ["apis", resourcemetrics.GROUP]:
            served = await resourcemetrics.serve(request, ctx.store, segments, blocking)
            if served is not None:
                return served
        if segments in (["api"], ["apis"]) and \
                resources.wants_aggregated(request.headers.get("Accept", "")):
            return web.Response(body=json.dumps(resources.aggregated(segments == ["api"])),
                                headers={"Content-Type": resources.AGGREGATED,
                                         "Vary": "Accept"})
        doc = resources.document(segments)
        if doc is not None:
            return json_response(doc)
        call = _call(segments)
        if call is None and segments[:1] == ["apis"]:
            # A kind defined a moment ago, before the watch hub's next scan registered it.
            await blocking(ctx.store.refresh_kinds)
            call = _call(segments)
        if call is None:
            raise NOT_FOUND
        if call.subresource is not None:
            handler = SUBRESOURCE_HANDLERS.get((call.target.resource.name, call.subresource)) \
                or _custom_subresource(call)
            if handler is None:
                raise NOT_FOUND
            return await handler(ctx, call, request)
        return await _resource(ctx, call, request)
    except ApiError as exc:
        if exc.reason == "RequestEntityTooLarge" and not request.content.at_eof():
            return await bodies.refuse_unread(request, error_response(exc))
        return error_response(exc)
    except PodctlError as exc:
        return error_response(from_error(exc, call.target.group if call else ""))
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as exc:  # a bug or a failing engine: the client gets a Status too
        log.exception("%s %s failed", request.method, request.path)
        return error_response(ApiError("InternalError", f"an error on the server ({exc}) "
                                       "has prevented the request from succeeding"))


def _custom_subresource(call: Call) -> SubresourceHandler | None:
    """A custom kind's status and scale, as its definition declares them."""
    resource = call.target.resource
    if not resource.custom:
        return None
    if call.subresource == "status" and resource.status:
        return status_subresource
    if call.subresource == "scale" and resource.scalable:
        return scale_subresource
    return None


def _openapi(segments: list[str], accept: str) -> web.Response:
    from podctl.apiserver import openapi

    if segments == ["v2"] and openapi.wants_protobuf(accept):
        return web.Response(body=openapi.v2_protobuf(), content_type=openapi.V2_PROTOBUF)
    if not _accepts_json(accept):
        raise NOT_ACCEPTABLE
    body: bytes | None = None
    if segments == ["v3"]:
        body = json.dumps(openapi.root()).encode()
    elif segments[:1] == ["v3"]:
        body = openapi.v3_document("/".join(segments[1:]))
    elif segments == ["v2"]:
        body = openapi.v2_document()
    if body is None:
        raise NOT_FOUND
    return web.Response(body=body, content_type="application/json")


def _accepts_json(accept: str) -> bool:
    """Whether an Accept header takes JSON (kubectl asks /openapi/v2 for protobuf only)."""
    if not accept.strip():
        return True
    for choice in accept.split(","):
        media = choice.split(";")[0].strip().lower()
        if media in ("application/json", "application/*", "*/*"):
            return True
    return False


async def _resource(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    method = request.method
    if method == "GET":
        if call.name is None:
            if params.go_bool(request.query.get("watch")):
                from podctl.apiserver.watch import serve_watch

                return await serve_watch(ctx, call, request)
            return await _list(ctx, call, request)
        obj = await blocking(objects.get_object, ctx.store, call.target.kind,
                             call.namespace or "", call.name)
        return _answer(call, request, obj)
    kind, namespace = call.target.kind, call.namespace or ""
    view = call.target.view
    if view is not None and view.to_stored is None and method != "DELETE":
        raise writes.read_only(kind)
    if method == "POST" and call.name is None:
        if call.target.resource.namespaced and call.namespace is None:
            raise NOT_FOUND
        body, opts = await object_body(request, kind, "CreateOptions")
        body = _in_version(call, body, opts)
        if kind in CREATE_HANDLERS:
            return await CREATE_HANDLERS[kind](ctx, call, request, body)
        opts.guard = request.get(WRITE_GUARD)
        created = await blocking(writes.create, ctx.store, kind, namespace, body, opts)
        # 201 for a dry run too, as upstream answers it.
        return written(objects.typed(call.target, created), opts, 201)
    if method == "DELETE":
        delete_opts = writes.delete_options(request.query, request.query.getall("dryRun", []),
                                            await optional_body(request))
        if call.name is None:
            query = params.list_options(request.query)
            return json_response(await blocking(writes.delete_collection, ctx.store, kind,
                                                call.namespace, query, delete_opts))
        return json_response(await blocking(writes.delete, ctx.store, kind, namespace,
                                            call.name, delete_opts))
    if call.name is None:
        raise NOT_ALLOWED
    if method == "PUT":
        body, opts = await object_body(request, kind, "UpdateOptions")
        body = _in_version(call, body, opts)
        opts.guard = request.get(WRITE_GUARD)
        updated = await blocking(writes.replace, ctx.store, kind, namespace, call.name, body,
                                 opts)
        return written(objects.typed(call.target, updated), opts)
    if method == "PATCH":
        content_type, body, opts = await patch_body(request)
        if call.target.resource.custom and content_type == patches.STRATEGIC:
            raise ApiError("UnsupportedMediaType", "the body of the request was in an unknown "
                           f"format - accepted media types include: {patches.JSON_PATCH}, "
                           f"{patches.MERGE_PATCH}, {patches.APPLY_PATCH}", {})
        opts.guard = request.get(WRITE_GUARD)
        if view is not None and view.to_stored is not None:
            if content_type == patches.APPLY_PATCH:  # no schema of the view's to apply by
                raise ApiError("UnsupportedMediaType", "the body of the request was in an "
                               "unknown format - accepted media types include: "
                               + ", ".join(PATCH_TYPES[:3]), {})
            patched = await blocking(writes.patch, ctx.store, kind, namespace, call.name,
                                     content_type, body, opts,
                                     (view.convert, _stored_body(call, opts)))
            return written(objects.typed(call.target, patched), opts)
        if content_type == patches.APPLY_PATCH:
            applied = await blocking(applies.apply, ctx.store, kind, namespace, call.name,
                                     body, opts, "", call.target.group_version)
            return written(objects.with_type(kind, applied.obj, call.target.group_version),
                           opts, 201 if applied.created else 200)
        patched = await blocking(writes.patch, ctx.store, kind, namespace, call.name,
                                 content_type, body, opts)
        return written(objects.with_type(kind, patched, call.target.group_version), opts)
    raise NOT_ALLOWED


def _in_version(call: Call, body: Any, opts: params.WriteOptions) -> Any:
    """A custom resource's body in the version its path names (conversion None: only the
    apiVersion says which), refused when it names another; a view's body converted to the
    stored kind."""
    view = call.target.view
    if not (call.target.resource.custom or view is not None) or not isinstance(body, dict):
        return body
    wanted = call.target.group_version
    sent = body.get("apiVersion")
    if sent and sent != wanted:
        raise ApiError("BadRequest", f"the API version in the data ({sent}) does not match the "
                       f"expected API version ({wanted})")
    if view is not None:
        return _stored_body(call, opts)(body)
    return {**body, "apiVersion": wanted}


def _stored_body(call: Call, opts: params.WriteOptions) -> Callable[[Obj], Obj]:
    """How a body in a view's group version becomes the stored kind's: its unknown fields
    as fieldValidation says (refused, warned of, dropped), then converted."""
    view = call.target.view
    assert view is not None and view.to_stored is not None
    to_stored = view.to_stored
    resource = call.target.resource
    version = call.target.version

    def stored(body: Obj) -> Obj:
        unknown = view.unknown(body)
        failure = f'{resource.kind} in version "{version}" cannot be handled as a ' \
                  f"{resource.kind}: "
        if unknown and opts.strict:
            raise ApiError("BadRequest", failure + "strict decoding error: "
                           + ", ".join(unknown))
        if opts.validation == params.WARN:
            opts.warnings.extend(u for u in unknown if u not in opts.warnings)
        try:
            return to_stored(body)
        except ValueError as exc:
            raise ApiError("BadRequest", failure + str(exc)) from exc

    return stored


NOT_FOUND = ApiError("NotFound", "the server could not find the requested resource", {})
NOT_ALLOWED = ApiError("MethodNotAllowed",
                       "the server does not allow this method on the requested resource", {})
NOT_ACCEPTABLE = ApiError("NotAcceptable", "only the following media types are accepted: "
                          f"application/json, {V2_PROTOBUF}", {})
JSON, YAML = "application/json", "application/yaml"
INPUT_TYPES = (JSON, YAML, protobuf.CONTENT_TYPE)
# The API server's cap on the operations of one JSON patch.
MAX_JSON_PATCH_OPERATIONS = 10000


def written(body: Obj, opts: params.WriteOptions, status: int = 200) -> web.Response:
    """A write's answer, with a `Warning` header for each field a Warn validation dropped."""
    response = json_response(body, status)
    for warning in opts.warnings:
        response.headers.add("Warning", f"299 - {json.dumps(warning)}")
    return response


def input_type(request: web.Request) -> str:
    """The body's media type, one the API decodes (JSON when none is named), else 415."""
    if "Content-Type" not in request.headers:
        return JSON
    if request.content_type not in INPUT_TYPES:
        raise ApiError("UnsupportedMediaType", "the body of the request was in an unknown "
                       "format - accepted media types include: " + ", ".join(INPUT_TYPES), {})
    return request.content_type


async def object_body(request: web.Request, kind: str,
                      options_kind: str) -> tuple[Any, params.WriteOptions]:
    """A create or update's body and options, in upstream's order: media type (415), size
    (413), options (400/422), then the decoding, in a worker thread (400)."""
    content_type = input_type(request)
    raw = await bodies.read_limited(request)
    opts = params.write_options(request.query.getall("dryRun", []), request.query,
                                options_kind)
    opts.manager = writer_name(request, opts)
    try:
        decoded = await bodies.in_decoder(bodies.decode, raw, content_type)
    except bodies.BodyError as exc:
        reason = f"couldn't get version/kind; json parse error: {exc}" \
            if content_type == JSON else str(exc)
        raise ApiError("BadRequest", f"the object provided is unrecognized (must be of type "
                       f"{kind}): {reason} ({bodies.summary(raw)})") from exc
    opts.duplicates = decoded.duplicates
    return decoded.value, opts


async def patch_body(request: web.Request) -> tuple[str, Any, params.WriteOptions]:
    """A patch's type (415), body (413), options and JSON (400)."""
    content_type = patch_type(request)
    raw = await bodies.read_limited(request)
    opts = params.write_options(request.query.getall("dryRun", []), request.query,
                                "PatchOptions", content_type)
    opts.manager = writer_name(request, opts)
    if content_type == patches.APPLY_PATCH:
        # kubectl sends JSON (YAML's subset): read by the faster decoder when it is JSON
        try:
            applied = await bodies.in_decoder(_decode_apply, raw)
        except bodies.BodyError as exc:
            raise ApiError("BadRequest", f"error decoding YAML: {exc}") from exc
        opts.duplicates = applied.duplicates
        return content_type, applied.value, opts
    try:
        decoded = await bodies.in_decoder(bodies.decode_json, raw)
    except bodies.BodyError as exc:
        raise ApiError("BadRequest", f"error decoding patch: {exc}") from exc
    if content_type != patches.JSON_PATCH and not isinstance(decoded.value, dict):
        prefix = "error decoding patch: " if content_type == patches.MERGE_PATCH else ""
        raise ApiError("BadRequest", f"{prefix}json: cannot unmarshal "
                       f"{bodies.json_kind(decoded.value)} into Go value of type "
                       "map[string]interface {}")
    if content_type == patches.JSON_PATCH and isinstance(decoded.value, list) and \
            len(decoded.value) > MAX_JSON_PATCH_OPERATIONS:
        raise bodies.too_large(f"The allowed maximum operations in a JSON patch is "
                               f"{MAX_JSON_PATCH_OPERATIONS}, got {len(decoded.value)}")
    opts.duplicates = decoded.duplicates
    return content_type, decoded.value, opts


def _decode_apply(raw: bytes) -> bodies.Decoded:
    if raw.lstrip()[:1] == b"{":
        try:
            return bodies.decode(raw, JSON)
        except bodies.BodyError:
            pass  # a YAML flow mapping, not JSON
    return bodies.decode(raw, YAML)


async def optional_body(request: web.Request) -> Any:
    """A DELETE's options body; None when there is none."""
    raw = await bodies.read_limited(request)
    if not raw.strip():
        return None
    content_type = input_type(request)
    try:
        return (await bodies.in_decoder(bodies.decode, raw, content_type)).value
    except bodies.BodyError as exc:
        raise ApiError("BadRequest", f"the object provided is unrecognized (must be of type "
                       f"DeleteOptions): {exc} ({bodies.summary(raw)})") from exc


def patch_type(request: web.Request) -> str:
    content_type = request.content_type
    if content_type not in PATCH_TYPES:
        raise ApiError("UnsupportedMediaType",
                       "the body of the request was in an unknown format - accepted media "
                       "types include: " + ", ".join(PATCH_TYPES), {})
    return content_type


PATCH_TYPES = (patches.JSON_PATCH, patches.MERGE_PATCH, patches.STRATEGIC, patches.APPLY_PATCH)


def writer_name(request: web.Request, opts: params.WriteOptions) -> str:
    """The manager a write's fields go to: its fieldManager, else its user agent's
    prefix (upstream's managerOrUserAgent)."""
    return opts.manager or request.headers.get("User-Agent", "").split("/")[0]


@subresource("pods", "status")
@subresource("replicationcontrollers", "status")
@subresource("replicasets", "status")
@subresource("deployments", "status")
@subresource("daemonsets", "status")
@subresource("statefulsets", "status")
@subresource("jobs", "status")
@subresource("cronjobs", "status")
@subresource("namespaces", "status")
@subresource("nodes", "status")
@subresource("services", "status")
@subresource("horizontalpodautoscalers", "status")
async def status_subresource(ctx: Context, call: Call,
                             request: web.Request) -> web.StreamResponse:
    kind, namespace, name = call.target.kind, call.namespace or "", call.name or ""
    view = call.target.view
    if request.method == "GET":
        return json_response(objects.typed(call.target, await blocking(
            objects.get_object, ctx.store, kind, namespace, name)))
    if view is not None and view.to_stored is None:
        raise writes.read_only(kind)
    if request.method == "PUT":
        body, opts = await object_body(request, kind, "UpdateOptions")
        if view is not None:
            body = _in_version(call, body, opts)
        obj = await blocking(writes.replace_status, ctx.store, kind, namespace, name, body,
                             opts)
    elif request.method == "PATCH":
        content_type, body, opts = await patch_body(request)
        if content_type == patches.APPLY_PATCH and view is None:
            obj = (await blocking(applies.apply, ctx.store, kind, namespace, name, body, opts,
                                  "status", call.target.group_version)).obj
        else:
            obj = await blocking(writes.patch_status, ctx.store, kind, namespace, name,
                                 content_type, body, opts,
                                 (view.convert, _stored_body(call, opts)) if view else None)
    else:
        raise NOT_ALLOWED
    return written(objects.typed(call.target, obj), opts)


@subresource("replicationcontrollers", "scale")
@subresource("replicasets", "scale")
@subresource("deployments", "scale")
@subresource("statefulsets", "scale")
async def scale_subresource(ctx: Context, call: Call,
                            request: web.Request) -> web.StreamResponse:
    kind, namespace, name = call.target.kind, call.namespace or "", call.name or ""
    if request.method == "GET":
        return json_response(await blocking(writes.get_scale, ctx.store, kind, namespace,
                                            name))
    if request.method == "PUT":
        body, opts = await object_body(request, "Scale", "UpdateOptions")
        scale = await blocking(writes.replace_scale, ctx.store, kind, namespace, name, body,
                               opts)
    elif request.method == "PATCH":
        content_type, body, opts = await patch_body(request)
        scale = await blocking(writes.patch_scale, ctx.store, kind, namespace, name,
                               content_type, body, opts)
    else:
        raise NOT_ALLOWED
    return written(scale, opts)


async def _list(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    query = params.list_options(request.query)
    oldest = ctx.hub.oldest if ctx.hub is not None else 0
    table = wants_table(request.headers.get("Accept", ""))
    encoded = await blocking(_encoded_list, ctx.store, call, query, oldest, table,
                             request.query.get("includeObject", "Metadata"))
    return web.Response(body=encoded, content_type="application/json")


def _encoded_list(store: Store, call: Call, query: params.ListOptions, oldest: int,
                  table: bool, include: str) -> bytes:
    """A list as the client reads it, built and encoded on a request thread: however big,
    it costs the event loop nothing."""
    page = objects.list_objects(store, call.target.kind, call.namespace, query, oldest)
    body = objects.list_body(call.target.kind, page, call.target.group_version)
    if call.target.view is not None:
        body["items"] = [call.target.view.convert(o) for o in page.items]
    if table:
        body = build_table(call.target.kind, page.items, datetime.now(UTC), include,
                           body["metadata"])
    return json.dumps(body).encode()


def _answer(call: Call, request: web.Request, obj: Obj) -> web.Response:
    """One object, as JSON or as a one-row Table."""
    kind = call.target.kind
    if wants_table(request.headers.get("Accept", "")):
        return json_response(build_table(kind, [obj], datetime.now(UTC),
                                         request.query.get("includeObject", "Metadata")))
    return json_response(objects.typed(call.target, obj))


# Modules registering more subresource handlers (streaming ones): imported when serving.
HANDLER_MODULES = ("podctl.apiserver.podlogs", "podctl.apiserver.podexec",
                   "podctl.apiserver.podportforward",
                   "podctl.apiserver.podeviction", "podctl.apiserver.authz",
                   "podctl.apiserver.satokens")


async def _deprecation_warning(request: web.Request, response: web.StreamResponse) -> None:
    """Every request for a deprecated kind, whatever its verb or outcome, carries the
    API server's warning (kubectl prints it as `Warning: ...`), watches included."""
    segments = [s for s in request.path.split("/") if s]
    if len(segments) < 3 or segments[0] not in ("api", "apis"):
        return
    call = parse_call(segments)
    deprecation = call.target.resource.deprecation if call is not None else None
    if deprecation:
        response.headers.add("Warning", f'299 - "{deprecation}"')


PathHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(ctx: Context, middlewares: list[Any],
             paths: Sequence[tuple[str, PathHandler]] = ()) -> web.Application:
    """The application: `paths` (outside the resource tree: /metrics, /healthz...) first,
    then every other path to `dispatch`."""
    import importlib

    for module in HANDLER_MODULES:
        importlib.import_module(module)
    app = web.Application(middlewares=middlewares, client_max_size=bodies.MAX_BODY_BYTES)
    app["ctx"] = ctx
    app.on_response_prepare.append(_deprecation_warning)
    for path, handler in paths:
        app.router.add_route("*", path, handler)
    # `[\s\S]*`, not `.*`: a name may hold any character, a newline too (%0A).
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch)
    return app
