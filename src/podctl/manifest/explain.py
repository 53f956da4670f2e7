"""`explain`: the upstream field documentation of a kind, laid out as kubectl v1.3x prints it.

The descriptions live in their own generated file (tools/gen_schemas.py), read only here, so
that validating manifests never pays for loading the prose.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from podctl.api import crd, meta
from podctl.errors import PodctlError

DOCS_FILE = Path(__file__).resolve().parent.parent / "schemas" / "k8s-core-v1-explain.json"


@cache
def load_docs() -> dict[str, Any]:
    """The generated descriptions bundle: kinds and definitions."""
    docs: dict[str, Any] = json.loads(DOCS_FILE.read_text(encoding="utf-8"))
    return docs


def explained_kinds() -> list[str]:
    return list(load_docs()["kinds"])


def explain(kind: str, field_path: list[str], recursive: bool = False) -> str:
    """kubectl explain's plaintext for ``kind`` and a path of fields under it."""
    docs = custom_docs(kind) if kind in crd.DEFINITIONS else load_docs()
    kind = str(meta.RESOURCES[kind].kind) if kind in crd.DEFINITIONS else kind
    entry = docs["kinds"].get(kind)
    if entry is None:
        raise PodctlError(f"couldn't find resource for \"/v1, Kind={kind}\"")
    definitions: dict[str, Any] = docs["definitions"]
    group, _, version = str(entry["version"]).rpartition("/")
    head = f"GROUP:      {group}\n" if group else ""
    head += f"KIND:       {kind}\nVERSION:    {version}\n\n"

    definition: str | None = entry["definition"]
    description = _with_newline(definitions[entry["definition"]].get("description", ""))
    for depth, name in enumerate(field_path):
        fields = definitions[definition].get("fields", {}) if definition else {}
        if name not in fields:
            # kubectl names the last field asked for, whichever step failed.
            raise PodctlError(f'field "{field_path[-1]}" does not exist')
        type_name, field_doc, *target = fields[name]
        definition = target[0] if target else None
        description = _with_newline(field_doc)
        if definition is not None:
            description += _with_newline(definitions[definition].get("description", ""))
        if depth == len(field_path) - 1:
            head += f"FIELD: {name} <{type_name}>\n\n\n"

    body = "DESCRIPTION:\n" + indent(wrap(description or "<empty>", 76), 4) + "\n"
    if definition is not None and definitions[definition].get("fields"):
        body += "FIELDS:\n" + _field_list(definitions, definition, 1, recursive, frozenset())
    return head + body + "\n"


def custom_docs(key: str) -> dict[str, Any]:
    """A custom kind's documentation in the bundle's shape, from the schema of the version
    it is served in first (as kubectl explains it from /openapi/v3)."""
    resource = meta.RESOURCES[key]
    version = resource.versions[0]
    schema = crd.schema_of(crd.DEFINITIONS[key], version) or {"type": "object"}
    definitions = dict(load_docs()["definitions"])
    root = f"{resource.group}.{version}.{resource.kind}"
    _define(definitions, root, schema, top=True)
    return {"kinds": {resource.kind: {"version": f"{resource.group}/{version}",
                                      "definition": root}},
            "definitions": definitions}


_TOP_FIELDS = {
    "apiVersion": ["string", "APIVersion defines the versioned schema of this representation "
                   "of an object. Servers should convert recognized schemas to the latest "
                   "internal value, and may reject unrecognized values. More info: "
                   "https://git.k8s.io/community/contributors/devel/sig-architecture/"
                   "api-conventions.md#resources"],
    "kind": ["string", "Kind is a string value representing the REST resource this object "
             "represents. Servers may infer this from the endpoint the client submits "
             "requests to. Cannot be updated. In CamelCase. More info: "
             "https://git.k8s.io/community/contributors/devel/sig-architecture/"
             "api-conventions.md#types-kinds"],
    "metadata": ["ObjectMeta", "Standard object's metadata. More info: "
                 "https://git.k8s.io/community/contributors/devel/sig-architecture/"
                 "api-conventions.md#metadata", "meta.ObjectMeta"],
}


def _define(definitions: dict[str, Any], name: str, node: dict[str, Any],
            top: bool = False, depth: int = 0) -> None:
    props: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) \
        else {}
    fields: dict[str, list[str]] = dict(_TOP_FIELDS) if top else {}
    for field, sub in props.items():
        if isinstance(sub, dict) and not (top and field in _TOP_FIELDS):
            fields[field] = _field(definitions, f"{name}.{field}", sub, depth)
    definitions[name] = {"description": str(node.get("description") or ""),
                         "required": list(node.get("required") or []), "fields": fields}


def _field(definitions: dict[str, Any], name: str, sub: dict[str, Any],
           depth: int) -> list[str]:
    """[type, description(, the definition it opens)] of one schema node."""
    doc = str(sub.get("description") or "")
    target = sub
    prefix = ""
    if sub.get("type") == "array" and isinstance(sub.get("items"), dict):
        target, prefix = sub["items"], "[]"
    elif isinstance(sub.get("additionalProperties"), dict):
        target, prefix = sub["additionalProperties"], "map[string]"
    # An int-or-string node has no type of its own: kubectl names it Object, as it names
    # every untyped node of a published schema.
    kind = str(target.get("type") or "Object")
    if kind == "object" or kind == "Object":
        if target.get("properties") and depth < 32:
            _define(definitions, name, target, depth=depth + 1)
            return [prefix + "Object", doc, name]
        return [prefix + "Object", doc]
    return [prefix + kind, doc]


def _with_newline(text: str) -> str:
    return text + "\n" if text else ""


def _field_list(definitions: dict[str, Any], name: str, level: int, recursive: bool,
                seen: frozenset[str]) -> str:
    """The FIELDS section: one entry per field; with ``recursive`` a tree of names only.

    ``seen`` holds the definitions on the way down, so a self-referencing type stops.
    """
    definition = definitions[name]
    required = set(definition.get("required", ()))
    pad = 2 * level
    out: list[str] = []
    for field, (type_name, doc, *target) in sorted(definition.get("fields", {}).items()):
        line = f"{' ' * pad}{field}\t<{type_name}>"
        if field in required:
            line += " -required-"
        out.append(line + "\n")
        if not recursive:
            out.append(indent(wrap(doc or "<no description>", 78 - pad), pad + 2) + "\n\n")
        elif target and target[0] not in seen:
            out.append(_field_list(definitions, target[0], level + 1, recursive,
                                   seen | {target[0]}))
    return "".join(out)


def indent(text: str, amount: int) -> str:
    """Every line prefixed, including the empty one after a trailing newline (as sprig does)."""
    pad = " " * amount
    return pad + text.replace("\n", "\n" + pad)


def wrap(text: str, limit: int) -> str:
    """Greedy word wrap at whitespace, as kubectl's wrap (go-wordwrap) does it.

    Existing line breaks stay; a word longer than the limit is not split, but one that
    reaches past the limit while still shorter than it starts a new line (so long URLs get
    a line of their own). Widths count bytes, as Go's buffers do.
    """
    out: list[str] = []
    current = 0
    word = spaces = ""

    def width(s: str) -> int:
        return len(s.encode())

    for char in text:
        if char == "\n":
            if word:
                out.append(spaces + word)
            elif current + width(spaces) <= limit:
                out.append(spaces)
            out.append("\n")
            current, word, spaces = 0, "", ""
        elif char.isspace():
            if not spaces or word:
                current += width(spaces) + width(word)
                out.append(spaces + word)
                word = spaces = ""
            spaces += char
        else:
            word += char
            if current + width(spaces) + width(word) > limit and width(word) < limit:
                out.append("\n")
                current, spaces = 0, ""
    if word:
        out.append(spaces + word)
    elif current + width(spaces) <= limit:
        out.append(spaces)
    return "".join(out)
