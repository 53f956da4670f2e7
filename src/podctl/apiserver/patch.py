"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes'
strategic merge patch, whose lists merge by the patch merge keys upstream's schema gives
(containers by name, container ports by containerPort, env by name, volumes by name...)."""

from __future__ import annotations

import copy
from typing import Any

from podctl.api.meta import Obj

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


class PatchError(ValueError):
    """A patch that cannot be applied; str() is the API server's message."""


# -- merge patch ----------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# -- JSON patch -----------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'invalid JSON pointer "{path}"')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"jsonpatch: doc is missing path: \"{path}\": missing value")
    return node


def _index(node: list[Any], part: str, path: str, adding: bool) -> int:
    if part == "-" and adding:
        return len(node)
    if not part.isdigit() or int(part) > len(node) or (not adding and int(part) == len(node)):
        raise PatchError(f'jsonpatch: index out of range: "{path}"')
    return int(part)


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, path, False)]
    raise PatchError(f"jsonpatch: doc is missing path: \"{path}\": missing value")


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"jsonpatch: doc is missing path: \"{path}\": missing value")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, path, False))
    raise PatchError(f"jsonpatch: doc is missing path: \"{path}\": missing value")


def _add(doc: Any, path: str, value: Any, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"jsonpatch: doc is missing key: \"{path}\": missing value")
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, path, False)] = copy.deepcopy(value)
        else:
            parent.insert(_index(parent, last, path, True), copy.deepcopy(value))
    else:
        raise PatchError(f"jsonpatch: doc is missing path: \"{path}\": missing value")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict):
            raise PatchError("invalid JSON patch operation")
        kind, path = op.get("op"), str(op.get("path", ""))
        if kind == "add":
            doc = _add(doc, path, op.get("value"))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            doc = _add(doc, path, op.get("value"), replace=True)
        elif kind == "move":
            value = _remove(doc, str(op.get("from", "")))
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, _get(doc, str(op.get("from", ""))))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f'testing value {path} failed: test failed')
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


# -- strategic merge patch ------------------------------------------------------------------


class Schemas:
    """Looks up property schemas in the OpenAPI components (x-kubernetes-patch-*)."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components

    def resolve(self, node: Any) -> dict[str, Any]:
        while isinstance(node, dict):
            ref = node.get("$ref")
            if ref is None and node.get("allOf"):
                ref = node["allOf"][0].get("$ref")
            if ref is None:
                return node
            node = self.components.get(str(ref).rsplit("/", 1)[-1], {})
        return {}

    def property(self, node: dict[str, Any], name: str) -> dict[str, Any]:
        prop = (self.resolve(node).get("properties") or {}).get(name)
        return prop if isinstance(prop, dict) else {}


def strategic_merge(target: Any, patch: Any, schema: dict[str, Any], schemas: Schemas) -> Any:
    """Apply a strategic merge patch; `schema` is the target's (possibly a $ref)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(out.get(field), list) and isinstance(value, list):
                out[field] = [v for v in out[field] if v not in value]
            continue
        prop = schemas.property(schema, key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list):
            merged = _merge_list(out.get(key), value, prop, schemas)
            order = patch.get(f"$setElementOrder/{key}")
            out[key] = _ordered(merged, order, prop) if isinstance(order, list) else merged
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            result = strategic_merge(out[key], value, prop, schemas)
            if result is None:
                out.pop(key, None)
            else:
                out[key] = result
        elif isinstance(value, dict):
            result = strategic_merge({}, value, prop, schemas)
            if result is not None:
                out[key] = result
        else:
            out[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _strategy(prop: dict[str, Any]) -> tuple[bool, str | None]:
    strategy = str(prop.get("x-kubernetes-patch-strategy") or "")
    return "merge" in strategy.split(","), prop.get("x-kubernetes-patch-merge-key")


def _merge_list(current: Any, patch: list[Any], prop: dict[str, Any],
                schemas: Schemas) -> list[Any]:
    merge, key = _strategy(prop)
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [copy.deepcopy(p) for p in patch
                if not (isinstance(p, dict) and p.get("$patch") == "replace")]
    if not merge or not isinstance(current, list):
        return [copy.deepcopy(p) for p in patch
                if not (isinstance(p, dict) and "$patch" in p)]
    out = copy.deepcopy(current)
    if key is None:  # a set of primitives: union, in order
        for item in patch:
            if item not in out:
                out.append(copy.deepcopy(item))
        return out
    items = prop.get("items") or {}
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            out.append(copy.deepcopy(item))
            continue
        index = next((i for i, o in enumerate(out)
                      if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
            continue
        if index is None:
            out.append(strategic_merge({}, item, items, schemas))
        else:
            out[index] = strategic_merge(out[index], item, items, schemas)
    return out


def _ordered(items: list[Any], order: list[Any], prop: dict[str, Any]) -> list[Any]:
    _, key = _strategy(prop)

    def ident(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [ident(o) for o in order]
    placed = sorted((i for i in items if ident(i) in wanted), key=lambda i: wanted.index(ident(i)))
    return placed + [i for i in items if ident(i) not in wanted]


def apply_patch(content_type: str, target: Obj, patch: Any, schema: dict[str, Any],
                schemas: Schemas) -> Obj:
    """The patched object, by the patch's media type."""
    if content_type == JSON_PATCH:
        result = json_patch(target, patch)
    elif content_type == MERGE_PATCH:
        result = merge_patch(target, patch)
    elif content_type == STRATEGIC:
        result = strategic_merge(target, patch, schema, schemas)
    else:
        raise PatchError(f"the server does not support the patch type {content_type}")
    if not isinstance(result, dict):
        raise PatchError("the patch did not leave an object")
    return result
