"""Strict structural validation against the generated Kubernetes v1 schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from podctl.api.quantity import QUANTITY_REGEX, parse_quantity
from podctl.manifest.problems import FieldPath, MapKey, format_path, render_value, type_name

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "k8s-core-v1.json"
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_SET_BASED = ("matchLabels", "matchExpressions")


@dataclass(frozen=True)
class FieldError:
    """A problem at a field path; ``at_key`` points the location at the key instead of the value."""

    path: FieldPath
    message: str
    at_key: bool = False


@dataclass(frozen=True)
class Schema:
    """The compact schema: definitions by short name, and the definition of each kind."""

    version: str
    kinds: dict[str, str]
    definitions: dict[str, dict[str, Any]]


@cache
def load_schema() -> Schema:
    """Read the generated schema once."""
    data = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return Schema(data["kubernetesVersion"], data["kinds"], data["definitions"])


_EXPECTED = {
    "string": "string",
    "int32": "integer",
    "int64": "integer",
    "number": "number",
    "boolean": "boolean",
    "quantity": 'quantity (a string like "500m" or "1Gi", or a number)',
    "int-or-string": "integer or string",
    "object": "mapping",
}


def fields_of(schema: Schema, def_name: str) -> dict[str, Any]:
    """Properties of a struct definition ({} for non-structs)."""
    props = schema.definitions.get(def_name, {}).get("properties")
    return props if isinstance(props, dict) else {}


def _struct_of(t: Any) -> str | None:
    """The struct definition a type refers to, looking through lists and maps."""
    while isinstance(t, list):
        t = t[1]
    return t if isinstance(t, str) and t not in _EXPECTED and t != "any" else None


class _Walker:
    """One validation pass over an object."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.errors: list[FieldError] = []
        self.prune = False  # drop unknown fields from the object (after recording them)

    def type_error(self, path: FieldPath, value: Any, expected: str, hint: str = "") -> None:
        """Record a wrong-type error."""
        msg = (
            f"{format_path(path)}: Invalid value: {render_value(value)}: "
            f"expected {expected}, got {type_name(value)}"
        )
        self.errors.append(FieldError(path, msg + (f" ({hint})" if hint else "")))

    def mistyped(self, path: FieldPath, value: Any, t: Any, expected: str,
                 hint: str = "") -> None:
        """A value of the wrong type for schema type ``t``."""
        self.type_error(path, value, expected, hint)

    def out_of_range(self, path: FieldPath, value: int, t: str) -> None:
        self.errors.append(
            FieldError(path, f"{format_path(path)}: Invalid value: {value}: out of range for {t}")
        )

    def bad_quantity(self, path: FieldPath, value: Any) -> None:
        self.errors.append(
            FieldError(
                path,
                f"{format_path(path)}: Invalid value: {render_value(value)}: "
                f"quantities must match the regular expression '{QUANTITY_REGEX}'",
            )
        )

    def walk(self, value: Any, t: Any, path: FieldPath, parent: str | None) -> Any:
        """Check ``value`` against type ``t``; returns it, or the int an integral float means."""
        if value is None:
            return value
        if isinstance(t, list):
            self.walk_collection(value, t, path, parent)
        elif t in _EXPECTED:
            return self.walk_primitive(value, t, path)
        elif t != "any":
            return self.walk_struct(value, t, path, parent)
        return value

    def walk_collection(
        self, value: Any, t: list[Any], path: FieldPath, parent: str | None
    ) -> None:
        """Lists and maps."""
        kind, inner = t
        if kind == "array":
            if not isinstance(value, list):
                hint = ""
                if isinstance(value, dict):
                    hint = 'a list is needed here: start each item with "- "'
                elif isinstance(value, str):
                    hint = 'write a list: each item on its own line, starting with "- "'
                self.mistyped(path, value, t, "list", hint)
                return
            for i, item in enumerate(value):
                if item is None and _struct_of(inner) == inner:
                    item = {}
                if (new := self.walk(item, inner, (*path, i), parent)) is not item:
                    value[i] = new
            return
        if not isinstance(value, dict):
            self.mistyped(path, value, t, "mapping", _mapping_hint(value))
            return
        for k, v in value.items():
            if inner == "string" and k in _SET_BASED and isinstance(v, dict | list):
                self.mistyped(
                    (*path, MapKey(k)),
                    v,
                    "string",
                    "string",
                    f"{format_path(path)} is a plain map of labels, not a LabelSelector: "
                    f"move the labels out of {k}",
                )
                continue
            if (new := self.walk(v, inner, (*path, MapKey(k)), parent)) is not v:
                value[k] = new

    def walk_primitive(self, value: Any, t: str, path: FieldPath) -> Any:
        """Scalars, quantities and free-form objects; returns the value as the decoder reads it."""
        # kubectl re-encodes YAML and JSON numbers with Go's encoder, which writes 80.0 as 80
        # (from 1e21 on it writes 1e+21, which no integer field accepts): the API server sees
        # an integer wherever a float is whole.
        whole = isinstance(value, float) and value.is_integer() and abs(value) < 1e21
        if whole and t in ("int32", "int64", "int-or-string"):
            return self.walk_primitive(int(value), t, path)
        if t == "string":
            if not isinstance(value, str):
                hint = ""
                if isinstance(value, bool | int | float):
                    hint = f"put the value in quotes: {json.dumps(render_value(value))}"
                self.mistyped(path, value, t, "string", hint)
        elif t in ("int32", "int64"):
            if isinstance(value, bool) or not isinstance(value, int):
                hint = (
                    "remove the quotes"
                    if isinstance(value, str) and value.strip().lstrip("-").isdigit()
                    else ""
                )
                self.mistyped(path, value, t, "integer", hint)
                return value
            low, high = _INT32 if t == "int32" else _INT64
            if not low <= value <= high:
                self.out_of_range(path, value, t)
        elif t == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.mistyped(path, value, t, "number")
        elif t == "boolean":
            if not isinstance(value, bool):
                hint = (
                    "remove the quotes"
                    if str(value).lower() in ("true", "false")
                    else "use true or false"
                )
                self.mistyped(path, value, t, "boolean", hint)
        elif t == "int-or-string":
            if isinstance(value, bool) or not isinstance(value, int | str):
                self.mistyped(path, value, t, "integer or string")
        elif t == "quantity":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                self.mistyped(path, value, t, _EXPECTED["quantity"])
            elif parse_quantity(value) is None:
                self.bad_quantity(path, value)
        elif t == "object" and not isinstance(value, dict):
            self.mistyped(path, value, t, "mapping", _mapping_hint(value))
        return value

    def walk_struct(self, value: Any, name: str, path: FieldPath, parent: str | None) -> Any:
        """A struct definition: known fields only, each of the right type, required ones present."""
        definition = self.schema.definitions.get(name)
        if definition is None:
            return value
        if "type" in definition:
            return self.walk(value, definition["type"], path, parent)
        if not isinstance(value, dict):
            self.mistyped(path, value, name, "mapping", _mapping_hint(value))
            return value
        props: dict[str, Any] = definition.get("properties", {})
        for key, item in list(value.items()):
            ft = props.get(key)
            if ft is None:
                self.unknown(path, key, name, parent)
                if self.prune:
                    del value[key]
            elif (new := self.walk(item, ft, (*path, key), name)) is not item:
                value[key] = new
        # A body's status is not the API server's to require anything of: a create drops it
        # (or takes it as it is) and Go decodes a missing or null field as its zero value.
        for key in definition.get("required", ()) if path[:1] != ("status",) else ():
            if value.get(key) is None:
                self.errors.append(
                    FieldError((*path, key), f"{format_path((*path, key))}: Required value")
                )
        return value

    def unknown(self, path: FieldPath, key: str, name: str, parent: str | None) -> None:
        """Record an unknown field with the most useful suggestion."""
        full = format_path((*path, key))
        hint = suggest(self.schema, key, name, parent)
        msg = f'unknown field "{full}"' + (f" ({hint})" if hint else "")
        self.errors.append(FieldError((*path, key), msg, at_key=True))


def _mapping_hint(value: Any) -> str:
    """Hint for a list or scalar where a mapping was expected."""
    if isinstance(value, list):
        return 'remove the "- " in front of the fields: this is a single object, not a list'
    return ""


def suggest(schema: Schema, key: str, name: str, parent: str | None) -> str:
    """'did you mean …' for an unknown field ``key`` of struct ``name``."""
    props = fields_of(schema, name)
    if key.startswith("-") and len(key) > 1:
        rest = key[1:].strip()
        return f'a list item needs a space after "-": write "- {rest}"'
    for field in props:
        if field.lower() == key.lower():
            return f'did you mean "{field}"?'
    for field, t in props.items():
        child = _struct_of(t)
        if child and key in fields_of(schema, child):
            where = f"each item of {field}" if isinstance(t, list) else field
            return f'"{key}" belongs in {where}: indent it further'
    if parent and key in fields_of(schema, parent):
        return f'"{key}" belongs one level up: indent it less'
    import difflib

    close = difflib.get_close_matches(key, list(props), n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"?'
    return ""


def validate_structure(obj: dict[str, Any], kind: str) -> list[FieldError]:
    """All structural errors of ``obj`` as a ``kind`` (known to the schema).

    Whole floats in integer fields are replaced in ``obj`` by ints, as the API server gets them.
    """
    schema = load_schema()
    walker = _Walker(schema)
    walker.walk_struct(obj, schema.kinds[kind], (), None)
    return walker.errors


# -- decoding as the API server does --------------------------------------------------------

_GO_PRIMITIVES = {
    "string": "string",
    "int32": "int32",
    "int64": "int64",
    "number": "float64",
    "boolean": "bool",
    "quantity": "resource.Quantity",
    "int-or-string": "intstr.IntOrString",
    "object": "map[string]interface {}",
}


def go_type(t: Any) -> str:
    """The Go type the API's decoder fills for schema type ``t`` (v1.PodSpec, []v1.Container,
    map[string]string, int32...)."""
    if isinstance(t, list):
        kind, inner = t
        return ("[]" if kind == "array" else "map[string]") + go_type(inner)
    if t in _GO_PRIMITIVES:
        return _GO_PRIMITIVES[t]
    return "v1." + str(t).rpartition(".")[2]


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


@dataclass
class Decoded:
    """What decoding an object into its Go type finds: the unknown fields (strict decoding
    errors) and the first value the decoder refuses, in Go's words."""

    unknown: list[str]
    error: str | None


class _Decoder(_Walker):
    """The walk with Go's json decoder's view of each mistake: the first mistyped value
    (`json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of
    type int32`) and every unknown field; validation proper is not its business."""

    def __init__(self, schema: Schema) -> None:
        super().__init__(schema)
        self.structs: list[str] = []
        self.unknown_fields: list[str] = []
        self.first: str | None = None

    def walk_struct(self, value: Any, name: str, path: FieldPath, parent: str | None) -> Any:
        if not isinstance(value, dict) or "type" in self.schema.definitions.get(name, {}):
            return super().walk_struct(value, name, path, parent)
        self.structs.append(name)
        try:
            return super().walk_struct(value, name, path, parent)
        finally:
            self.structs.pop()

    def refuse(self, message: str) -> None:
        if self.first is None:
            self.first = message

    def field_message(self, path: FieldPath, what: str, t: Any) -> str:
        owner = self.structs[-1].rpartition(".")[2] if self.structs else "?"
        go_path = ".".join(p for p in path if isinstance(p, str) and not isinstance(p, MapKey))
        return f"json: cannot unmarshal {what} into Go struct field {owner}.{go_path} of type " \
            f"{go_type(t)}"

    def mistyped(self, path: FieldPath, value: Any, t: Any, expected: str,
                 hint: str = "") -> None:
        if t == "quantity":
            self.bad_quantity(path, value)
        elif t == "int-or-string":
            what = f"number {value}" if isinstance(value, float) else _json_kind(value)
            self.refuse(f"json: cannot unmarshal {what} into Go value of type int32")
        elif t in ("int32", "int64") and isinstance(value, float):
            self.refuse(self.field_message(path, f"number {value}", t))
        else:
            self.refuse(self.field_message(path, _json_kind(value), t))

    def out_of_range(self, path: FieldPath, value: int, t: str) -> None:
        self.refuse(self.field_message(path, f"number {value}", t))

    def bad_quantity(self, path: FieldPath, value: Any) -> None:
        self.refuse(f"quantities must match the regular expression '{QUANTITY_REGEX}'")

    def unknown(self, path: FieldPath, key: str, name: str, parent: str | None) -> None:
        self.unknown_fields.append(f'unknown field "{format_path((*path, key))}"')


def decode_structure(obj: dict[str, Any], kind: str, prune: bool) -> Decoded:
    """Decode ``obj`` as a ``kind`` the way the API server's strict JSON decoder reads it;
    ``prune``: unknown fields are dropped from ``obj`` too (fieldValidation Warn/Ignore).
    Whole floats in integer fields become ints, as in validate_structure."""
    schema = load_schema()
    decoder = _Decoder(schema)
    decoder.prune = prune
    decoder.walk_struct(obj, schema.kinds[kind], (), None)
    return Decoded(decoder.unknown_fields, decoder.first)
