"""POST .../pods/NAME/eviction: a policy/v1 (or v1beta1) Eviction body, checked as
upstream's EvictionREST checks it, then podctl's one eviction
(podctl.controllers.eviction). Answers a Success Status with 201, as a create does."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from podctl.api.meta import Obj
from podctl.apiserver import writes
from podctl.apiserver.params import WriteOptions
from podctl.apiserver.routes import (
    NOT_ALLOWED,
    Call,
    Context,
    blocking,
    json_response,
    object_body,
    subresource,
)
from podctl.apiserver.status import ApiError
from podctl.controllers.eviction import evict
from podctl.store import Store

# The group versions whose Eviction upstream accepts on this subresource.
EVICTION_VERSIONS = ("policy/v1", "policy/v1beta1")


@subresource("pods", "eviction")
async def eviction(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    if request.method != "POST":
        raise NOT_ALLOWED
    body, opts = await object_body(request, "Eviction", "CreateOptions")
    await blocking(evict_body, ctx.store, call.namespace or "", call.name or "", body, opts)
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                          "status": "Success", "code": 201}, 201)


def evict_body(store: Store, namespace: str, name: str, body: Any, opts: WriteOptions) -> None:
    """The Eviction decoded and checked (its name is the URL's, its namespace the
    request's), then the pod evicted with its DeleteOptions; the request's dryRun holds
    when the body's DeleteOptions name none (upstream's propagateDryRun)."""
    eviction = _decoded(body)
    md = eviction.get("metadata") or {}
    if not isinstance(md, dict):
        raise _unrecognized("metadata must be an object")
    if md.get("namespace") and md["namespace"] != namespace:
        raise ApiError("BadRequest", "the namespace of the provided object does not match "
                       "the namespace sent on the request")
    if md.get("name") != name:
        raise ApiError("BadRequest", "name in URL does not match name in Eviction object")
    delete = writes.delete_options({}, [], eviction.get("deleteOptions") or {})
    evict(store, namespace, name, grace=delete.grace, uid=delete.uid,
          resource_version=delete.resource_version,
          dry_run=delete.dry_run or opts.dry_run)


def _decoded(body: Any) -> Obj:
    if not isinstance(body, dict):
        raise _unrecognized("the body is not an object")
    version, kind = body.get("apiVersion"), body.get("kind")
    if kind not in (None, "Eviction"):
        raise _unrecognized(f"{kind}")
    if version not in (None, *EVICTION_VERSIONS):
        raise ApiError("BadRequest", f'no kind "Eviction" is registered for version '
                       f'"{version}" in scheme "pkg/api/legacyscheme/scheme.go:30"')
    return body


def _unrecognized(detail: str) -> ApiError:
    return ApiError("BadRequest", "the object provided is unrecognized (must be of type "
                    f"Eviction): {detail}")
