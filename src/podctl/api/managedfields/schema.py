"""The schema structured merge walks: each kind's OpenAPI definition read as upstream's
kube-openapi schemaconv reads it.

- a list is atomic unless `x-kubernetes-list-type` says `set` or `map` (keys from
  `x-kubernetes-list-map-keys`), or, without it, `x-kubernetes-patch-strategy: merge`
  makes it associative (keyed by `x-kubernetes-patch-merge-key`, else a set);
- an object (properties) or a map (additionalProperties) is granular unless
  `x-kubernetes-map-type: atomic`;
- int-or-string, untyped and `x-kubernetes-preserve-unknown-fields` nodes are deduced
  from the value: scalars, atomic lists, granular maps of deduced values.

`type_for(api_version, kind)` is the one lookup every field-management call makes: sources
added with `register` first, then the served CustomResourceDefinitions' schemas, then the
bundled upstream OpenAPI.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BUNDLE = Path(__file__).resolve().parent.parent.parent / "schemas" / "k8s-openapi.json"
SCALAR, LIST, MAP, UNTYPED = "scalar", "list", "map", "untyped"

# Defaults of list-map keys upstream's OpenAPI declares and the bundle leaves out: an item
# without its protocol is keyed as TCP (`k:{"containerPort":80,"protocol":"TCP"}`).
KEY_DEFAULTS = {("io.k8s.api.core.v1.ContainerPort", "protocol"): "TCP",
                ("io.k8s.api.core.v1.ServicePort", "protocol"): "TCP",
                ("io.k8s.api.core.v1.EndpointPort", "protocol"): "TCP"}


@dataclass(frozen=True)
class Schema:
    """An OpenAPI schema node and the components its `$ref`s name."""

    node: Mapping[str, Any]
    components: Mapping[str, Any]


class Type:
    """One node of the schema, resolved lazily (schemas are recursive)."""

    __slots__ = ("_fields", "atomic", "components", "keys", "kind", "name", "node", "prop")

    def __init__(self, prop: Mapping[str, Any], components: Mapping[str, Any]) -> None:
        self.components = components
        self.prop = prop
        self.name, self.node = _resolve(prop, components)
        self.kind = _kind(self.node)
        self.keys: tuple[str, ...] = ()
        self.atomic = False
        self._fields: dict[str, Type] = {}
        if self.kind == LIST:
            self.atomic, self.keys = _list_relationship(prop, self.node)
        elif self.kind == MAP:
            self.atomic = "atomic" in (prop.get("x-kubernetes-map-type"),
                                       self.node.get("x-kubernetes-map-type"))

    @property
    def struct(self) -> bool:
        return bool(self.node.get("properties"))

    def declares(self, name: str) -> bool:
        return name in (self.node.get("properties") or {})

    def field(self, name: str) -> Type:
        """The type of a map's entry `name`: its declared field, else the element type."""
        found = self._fields.get(name)
        if found is None:
            props = self.node.get("properties") or {}
            if name in props:
                found = Type(props[name], self.components)
            else:
                extra = self.node.get("additionalProperties")
                found = Type(extra, self.components) if isinstance(extra, dict) else DEDUCED
            self._fields[name] = found
        return found

    @property
    def element(self) -> Type:
        found = self._fields.get("[]")
        if found is None:
            items = self.node.get("items")
            found = Type(items, self.components) if isinstance(items, dict) else DEDUCED
            self._fields["[]"] = found
        return found

    def key_default(self, name: str) -> Any:
        element = self.element
        default = (element.node.get("properties") or {}).get(name, {}).get("default")
        return default if default is not None else KEY_DEFAULTS.get((element.name, name))


def _resolve(prop: Mapping[str, Any], components: Mapping[str, Any]
             ) -> tuple[str, Mapping[str, Any]]:
    node, name = prop, ""
    for _ in range(64):  # a $ref chain is short; a cycle of bare refs ends here
        ref = node.get("$ref")
        if ref is None and node.get("allOf"):
            ref = node["allOf"][0].get("$ref")
        if ref is None:
            return name, node
        name = str(ref).rsplit("/", 1)[-1]
        node = components.get(name) or {}
    return name, {}


def _kind(node: Mapping[str, Any]) -> str:
    if node.get("x-kubernetes-int-or-string") or node.get("format") == "int-or-string" or \
            (node.get("x-kubernetes-preserve-unknown-fields") and not node.get("properties")):
        return UNTYPED
    kind = node.get("type")
    if kind == "array":
        return LIST
    if kind == "object" or node.get("properties") or node.get("additionalProperties"):
        return MAP
    if kind in ("string", "integer", "number", "boolean"):
        return SCALAR
    return UNTYPED


def _list_relationship(prop: Mapping[str, Any], node: Mapping[str, Any]
                       ) -> tuple[bool, tuple[str, ...]]:
    """(atomic, keys) of a list."""
    def ext(name: str) -> Any:
        return prop.get(name, node.get(name))

    list_type = ext("x-kubernetes-list-type")
    if list_type is not None:
        if list_type == "map":
            return False, tuple(str(k) for k in ext("x-kubernetes-list-map-keys") or ())
        return list_type != "set", ()
    strategy = str(ext("x-kubernetes-patch-strategy") or "")
    if "merge" in strategy.split(","):
        merge_key = ext("x-kubernetes-patch-merge-key")
        return False, (str(merge_key),) if merge_key else ()
    return True, ()


DEDUCED = Type({}, {})


# -- the lookup ------------------------------------------------------------------------------

# (apiVersion, kind) -> the kind's schema, or None when the source does not know it.
SchemaSource = Callable[[str, str], Schema | None]
_SOURCES: list[SchemaSource] = []


def register(source: SchemaSource) -> None:
    """Add a source of schemas, asked before the built-in OpenAPI (a CRD's structural
    schema: `Schema(node=<openAPIV3Schema>, components={})`)."""
    if source not in _SOURCES:
        _SOURCES.insert(0, source)


def unregister(source: SchemaSource) -> None:
    if source in _SOURCES:
        _SOURCES.remove(source)


def type_for(api_version: str, kind: str) -> Type:
    """The root type of objects of this kind: from a registered source, else the bundled
    upstream OpenAPI, else deduced from the values (every map granular, lists atomic)."""
    for source in (*_SOURCES, custom_resource):
        found = source(api_version, kind)
        if found is not None:
            return Type(found.node, found.components)
    return _builtin(api_version, kind)


_OBJECT_META = {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}


def custom_resource(api_version: str, kind: str) -> Schema | None:
    """A served custom kind's structural schema (its definition's, in that version), with
    upstream's ObjectMeta for its metadata, as the API server merges them."""
    from podctl.api import crd

    group, _, version = api_version.rpartition("/")
    definition = crd.DEFINITIONS.get(f"{kind}.{group}")
    if definition is None:
        return None
    node = crd.schema_of(definition, version) or crd.schema_of(
        definition, crd.storage_version(definition)) or {}
    properties = {**(node.get("properties") or {}), "metadata": _OBJECT_META}
    return Schema({**node, "type": "object", "properties": properties}, _bundle())


@functools.cache
def _bundle() -> Mapping[str, Any]:
    data: dict[str, Any] = json.loads(_BUNDLE.read_text(encoding="utf-8"))
    return data["schemas"]  # type: ignore[no-any-return]


@functools.cache
def _builtin(api_version: str, kind: str) -> Type:
    group, _, version = api_version.rpartition("/")
    wanted = {"group": group, "version": version, "kind": kind}
    components = _bundle()
    for name, node in components.items():
        if wanted in (node.get("x-kubernetes-group-version-kind") or []):
            return Type({"$ref": "#/components/schemas/" + name}, components)
    return DEDUCED
