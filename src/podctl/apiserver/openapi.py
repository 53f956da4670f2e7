"""/openapi/v3 and /openapi/v2 from the bundled upstream definitions: kubectl explains
fields from them, and finds in them that the server validates fields itself
(`fieldValidation` on PATCH), so `kubectl create/apply` leave validation to the server."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from podctl.api.meta import Obj, Resource
from podctl.apiserver.resources import SUBRESOURCES, group_versions

BUNDLE = Path(__file__).resolve().parent.parent / "schemas" / "k8s-openapi.json"
V3 = "/openapi/v3"
COMPONENTS = "#/components/schemas/"


@functools.cache
def bundle() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BUNDLE.read_text(encoding="utf-8"))
    return data


def schema_name(kind: str) -> str | None:
    """The component of a served kind."""
    from podctl.api import meta

    return _gvk_schema(kind, meta.api_version(kind))


@functools.cache
def _gvk_schema(kind: str, api_version: str) -> str | None:
    """The component that is this kind (the definition upstream tags with its GVK)."""
    group, _, version = api_version.rpartition("/")
    for name, schema in bundle()["schemas"].items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            if gvk == {"group": group, "version": version, "kind": kind}:
                return str(name)
    return None


def _parameter(name: str, where: str = "query") -> Obj:
    return {"name": name, "in": where, "schema": {"type": "string"},
            "uniqueItems": True}


def _operation(action: str, gvk: Obj, ref: str | None, write: bool) -> Obj:
    op: Obj = {"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
               "parameters": [_parameter("dryRun"), _parameter("fieldManager")]
               + ([_parameter("fieldValidation")] if write else []),
               "responses": {"200": {"description": "OK", "content": {
                   "application/json": {"schema": {"$ref": ref}} if ref else {}}}}}
    return op


def _paths(resource: Resource, prefix: str) -> dict[str, Obj]:
    group, _, version = resource.api_version.rpartition("/")
    gvk = {"group": group, "version": version, "kind": resource.kind}
    name = _gvk_schema(resource.kind, resource.api_version)
    ref = COMPONENTS + name if name else None
    base = f"{prefix}/namespaces/{{namespace}}/{resource.name}" if resource.namespaced \
        else f"{prefix}/{resource.name}"
    item = f"{base}/{{name}}"
    paths = {
        base: {"get": _operation("list", gvk, None, False),
               "post": _operation("post", gvk, ref, True),
               "delete": _operation("deletecollection", gvk, None, False)},
        item: {"get": _operation("get", gvk, ref, False),
               "put": _operation("put", gvk, ref, True),
               "patch": _operation("patch", gvk, ref, True),
               "delete": _operation("delete", gvk, None, False)},
    }
    for sub in SUBRESOURCES.get(resource.name, {}):
        if sub in ("status", "scale"):
            paths[f"{item}/{sub}"] = {"get": _operation("get", gvk, ref, False)}
    return paths


@functools.cache
def group_version_document(group_version: str) -> bytes:
    """The OpenAPI v3 document of one group version, as bytes (built once)."""
    resources = group_versions()[group_version]
    prefix = f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"
    paths: dict[str, Obj] = {}
    for resource in resources:
        paths.update(_paths(resource, prefix))
    doc = {"openapi": "3.0.0",
           "info": {"title": "Kubernetes", "version": f"v{bundle()['kubernetesVersion']}"},
           "paths": paths, "components": {"schemas": bundle()["schemas"]}}
    return json.dumps(doc).encode()


def _hash(group_version: str) -> str:
    return hashlib.sha512(group_version_document(group_version)).hexdigest()[:64].upper()


def _doc_path(group_version: str) -> str:
    return f"apis/{group_version}" if "/" in group_version else f"api/{group_version}"


def root() -> Obj:
    """GET /openapi/v3: where each group version's document is."""
    return {"paths": {_doc_path(gv): {"serverRelativeURL":
                                      f"{V3}/{_doc_path(gv)}?hash={_hash(gv)}"}
                      for gv in group_versions()}}


def v3_document(path: str) -> bytes | None:
    """GET /openapi/v3/<api/v1 | apis/<group>/<version>>."""
    for group_version in group_versions():
        if path.strip("/") == _doc_path(group_version):
            return group_version_document(group_version)
    return None


@functools.cache
def v2_document() -> bytes:
    """GET /openapi/v2: the same definitions and paths in Swagger 2.0 form."""
    paths: dict[str, Obj] = {}
    for group_version, resources in group_versions().items():
        prefix = f"/{_doc_path(group_version)}"
        for resource in resources:
            for path, ops in _paths(resource, prefix).items():
                paths[path] = {verb: {**op, "parameters": [
                    {"name": p["name"], "in": p["in"], "type": "string", "uniqueItems": True}
                    for p in op["parameters"]], "responses": {"200": {"description": "OK"}}}
                    for verb, op in ops.items()}
    doc = {"swagger": "2.0",
           "info": {"title": "Kubernetes", "version": f"v{bundle()['kubernetesVersion']}"},
           "paths": paths, "definitions": bundle()["schemas"]}
    return json.dumps(doc).replace(COMPONENTS, "#/definitions/").encode()
