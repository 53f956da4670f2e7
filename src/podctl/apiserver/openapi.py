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
from podctl.apiserver.resources import AGGREGATED_VERSIONS, SUBRESOURCES, group_versions

BUNDLE = Path(__file__).resolve().parent.parent / "schemas" / "k8s-openapi.json"
V3 = "/openapi/v3"
COMPONENTS = "#/components/schemas/"


@functools.cache
def bundle() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BUNDLE.read_text(encoding="utf-8"))
    return data


def schema_name(kind: str, api_version: str | None = None) -> str | None:
    """The component of a served kind (in `api_version`, when not its stored one)."""
    from podctl.api import meta

    return _gvk_schema(kind, api_version or meta.api_version(kind))


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


def _paths(resource: Resource, prefix: str, group_version: str | None = None) -> dict[str, Obj]:
    group_version = group_version or resource.api_version
    group, _, version = group_version.rpartition("/")
    gvk = {"group": group, "version": version, "kind": resource.kind}
    name = custom_schema_name(resource, version) if resource.custom \
        else _gvk_schema(resource.kind, resource.api_version)
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
    subs = (["status"] if resource.status else []) + (["scale"] if resource.scalable else []) \
        if resource.custom else SUBRESOURCES.get(resource.name, {})
    for sub in subs:
        if sub in ("status", "scale"):
            paths[f"{item}/{sub}"] = {"get": _operation("get", gvk, ref, False)}
    return paths


def group_version_document(group_version: str) -> bytes:
    """The OpenAPI v3 document of one group version, as bytes (built once for each state
    of the custom kinds it serves)."""
    return _group_version_document(group_version, _served_marker(group_version))


def _served_marker(group_version: str) -> tuple[tuple[str, str], ...]:
    """What a group version's document depends on beyond the bundle: the definitions of the
    custom kinds it serves, by resourceVersion."""
    from podctl.api import crd

    return tuple(sorted((key, str(d["metadata"].get("resourceVersion")))
                        for key, d in list(crd.DEFINITIONS.items())
                        if group_version in _custom_versions(key)))


def _custom_versions(key: str) -> tuple[str, ...]:
    from podctl.api import meta

    resource = meta.RESOURCES.get(key)
    return tuple(f"{resource.group}/{v}" for v in resource.versions) if resource else ()


@functools.lru_cache(maxsize=64)
def _group_version_document(group_version: str, marker: tuple[tuple[str, str], ...]) -> bytes:
    resources = group_versions()[group_version]
    prefix = f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"
    paths: dict[str, Obj] = {}
    for resource in resources:
        paths.update(_paths(resource, prefix, group_version))
    schemas = {**bundle()["schemas"], **custom_schemas(group_version)}
    doc = {"openapi": "3.0.0",
           "info": {"title": "Kubernetes", "version": f"v{bundle()['kubernetesVersion']}"},
           "paths": paths, "components": {"schemas": schemas}}
    return json.dumps(doc).encode()


# -- custom kinds: their definitions' schemas, named as upstream names them --------------------

def custom_schema_name(resource: Resource, version: str) -> str:
    """`com.example.stable.v1.CronTab` for stable.example.com/v1 CronTab."""
    return ".".join(reversed(resource.group.split("."))) + f".{version}.{resource.kind}"


def custom_schemas(group_version: str) -> dict[str, Obj]:
    """The components of the custom kinds a group version serves (and their lists)."""
    from podctl.api import crd, meta

    group, _, version = group_version.rpartition("/")
    out: dict[str, Obj] = {}
    for key, definition in list(crd.DEFINITIONS.items()):
        resource = meta.RESOURCES.get(key)
        if resource is None or resource.group != group or version not in resource.versions:
            continue
        name = custom_schema_name(resource, version)
        gvk = [{"group": group, "version": version, "kind": resource.kind}]
        schema = json.loads(json.dumps(crd.schema_of(definition, version) or {"type": "object"}))
        props = schema.setdefault("properties", {})
        props.update(_TYPE_FIELDS)
        props["metadata"] = {"$ref": COMPONENTS + OBJECT_META, "description": (
            "Standard object's metadata. More info: https://git.k8s.io/community/contributors/"
            "devel/sig-architecture/api-conventions.md#metadata")}
        out[name] = {**schema, "x-kubernetes-group-version-kind": gvk}
        out[f"{name}List"] = {
            "type": "object", "required": ["items"],
            "properties": {**_TYPE_FIELDS, "items": {"type": "array",
                                                     "items": {"$ref": COMPONENTS + name}},
                           "metadata": {"$ref": COMPONENTS + LIST_META}},
            "x-kubernetes-group-version-kind": [{**gvk[0], "kind": f"{resource.kind}List"}]}
    return out


OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
_TYPE_FIELDS: dict[str, Obj] = {
    "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema "
                   "of this representation of an object. Servers should convert recognized "
                   "schemas to the latest internal value, and may reject unrecognized values. "
                   "More info: https://git.k8s.io/community/contributors/devel/"
                   "sig-architecture/api-conventions.md#resources"},
    "kind": {"type": "string", "description": "Kind is a string value representing the REST "
             "resource this object represents. Servers may infer this from the endpoint the "
             "client submits requests to. Cannot be updated. In CamelCase. More info: "
             "https://git.k8s.io/community/contributors/devel/sig-architecture/"
             "api-conventions.md#types-kinds"},
}


def _hash(group_version: str) -> str:
    return hashlib.sha512(group_version_document(group_version)).hexdigest()[:64].upper()


def _doc_path(group_version: str) -> str:
    return f"apis/{group_version}" if "/" in group_version else f"api/{group_version}"


def root() -> Obj:
    """GET /openapi/v3: where each group version's document is."""
    return {"paths": {_doc_path(gv): {"serverRelativeURL":
                                      f"{V3}/{_doc_path(gv)}?hash={_hash(gv)}"}
                      for gv in _documented()}}


def _documented() -> list[str]:
    """The group versions whose OpenAPI is the API server's own (not an aggregated
    group's: its server would publish its own)."""
    return [gv for gv in group_versions() if gv not in AGGREGATED_VERSIONS]


def v3_document(path: str) -> bytes | None:
    """GET /openapi/v3/<api/v1 | apis/<group>/<version>>."""
    for group_version in _documented():
        if path.strip("/") == _doc_path(group_version):
            return group_version_document(group_version)
    return None


def v2_document() -> bytes:
    """GET /openapi/v2: the same definitions and paths in Swagger 2.0 form."""
    return _v2_document(_all_served())


def _all_served() -> tuple[tuple[str, str], ...]:
    from podctl.api import crd

    return tuple(sorted((key, str(d["metadata"].get("resourceVersion")))
                        for key, d in list(crd.DEFINITIONS.items())))


@functools.lru_cache(maxsize=4)
def _v2_document(marker: tuple[tuple[str, str], ...]) -> bytes:
    paths: dict[str, Obj] = {}
    definitions = dict(bundle()["schemas"])
    for group_version, resources in group_versions().items():
        if group_version in AGGREGATED_VERSIONS:
            continue
        prefix = f"/{_doc_path(group_version)}"
        if any(r.custom for r in resources):
            definitions.update(custom_schemas(group_version))
        for resource in resources:
            for path, ops in _paths(resource, prefix, group_version).items():
                paths[path] = {verb: {**op, "parameters": [
                    {"name": p["name"], "in": p["in"], "type": "string", "uniqueItems": True}
                    for p in op["parameters"]], "responses": {"200": {"description": "OK"}}}
                    for verb, op in ops.items()}
    doc = {"swagger": "2.0",
           "info": {"title": "Kubernetes", "version": f"v{bundle()['kubernetesVersion']}"},
           "paths": paths, "definitions": definitions}
    return json.dumps(doc).replace(COMPONENTS, "#/definitions/").encode()


# -- /openapi/v2 as protobuf ----------------------------------------------------------------
# kubectl asks for the gnostic openapi_v2.Document in protobuf (and cannot fall back to JSON):
# the definitions, encoded with the field numbers of gnostic's OpenAPIv2.proto.

# What the answer is labelled (the older name, which kubectl asks for, has an "@" that Go's
# media type parser refuses in a Content-Type).
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_V2_PROTOBUF_TYPES = (V2_PROTOBUF, "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")


def wants_protobuf(accept: str) -> bool:
    """Whether an Accept header prefers the protobuf document (kubectl's only choice)."""
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return first in _V2_PROTOBUF_TYPES


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _named(name: str, value: bytes) -> bytes:
    return _field(1, name) + _field(2, value)


def _schema_message(schema: dict[str, Any]) -> bytes:
    """openapi.v2.Schema: $ref 1, format 2, description 4, required 19,
    additionalProperties 21, type 22, items 23, properties 25, vendor extensions 31."""
    out = bytearray()
    for number, key in ((1, "$ref"), (2, "format"), (4, "description")):
        if isinstance(schema.get(key), str):
            out += _field(number, schema[key])
    for name in schema.get("required") or []:
        out += _field(19, name)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out += _field(21, _field(1, _schema_message(extra)))
    if isinstance(schema.get("type"), str):
        out += _field(22, _field(1, schema["type"]))
    if isinstance(schema.get("items"), dict):
        out += _field(23, _field(1, _schema_message(schema["items"])))
    if isinstance(schema.get("properties"), dict):
        out += _field(25, b"".join(_field(1, _named(name, _schema_message(prop)))
                                   for name, prop in schema["properties"].items()))
    for key, value in schema.items():
        if key.startswith("x-"):
            # NamedAny: the extension's value as YAML (JSON is YAML).
            out += _field(31, _named(key, _field(2, json.dumps(value))))
    return bytes(out)


def v2_protobuf() -> bytes:
    """GET /openapi/v2 as protobuf: swagger 1, info 2, definitions 9."""
    return _v2_protobuf(_all_served())


@functools.lru_cache(maxsize=4)
def _v2_protobuf(marker: tuple[tuple[str, str], ...]) -> bytes:
    definitions = json.loads(_v2_document(marker))["definitions"]
    info = _field(1, "Kubernetes") + _field(2, f"v{bundle()['kubernetesVersion']}")
    return (_field(1, "2.0") + _field(2, info) + _field(9, b"".join(
        _field(1, _named(name, _schema_message(schema)))
        for name, schema in definitions.items())))
