"""A custom resource against its structural schema, as the apiextensions API server does it,
pure: pruning of unknown fields, `default`s, then OpenAPI v3 validation with upstream's
field paths and messages (kube-openapi's, turned into field errors)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from podctl.api.meta import Obj

Cause = tuple[str, str]
# Deeper than any sensible schema: a hostile one cannot recurse the interpreter away.
MAX_DEPTH = 64
_ROOT_KEPT = ("apiVersion", "kind", "metadata")


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def go_value(value: Any) -> str:
    """A value as Go's field errors print it (`"abc"`, `15`, `true`, `null`)."""
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    return json.dumps(value, separators=(",", ":"))


def _number(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


# -- pruning ----------------------------------------------------------------------------

def prune(obj: Obj, schema: Obj) -> list[str]:
    """Drop every field the schema does not declare (in place); the dropped fields' paths
    (`spec.foo`), which a strict request refuses and a warning one reports."""
    dropped: list[str] = []
    for key in list(obj):
        if key in _ROOT_KEPT:
            continue
        sub = (schema.get("properties") or {}).get(key)
        if sub is None and not schema.get("x-kubernetes-preserve-unknown-fields"):
            del obj[key]
            dropped.append(key)
        elif sub is not None:
            _prune(obj[key], sub, key, dropped, 1)
    return dropped


def _prune(value: Any, schema: Obj, path: str, dropped: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        if schema.get("x-kubernetes-embedded-resource"):
            kept: tuple[str, ...] = _ROOT_KEPT
        else:
            kept = ()
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key in list(value):
            if key in kept:
                continue
            if isinstance(props, dict) and key in props:
                _prune(value[key], props[key], _child(path, key), dropped, depth + 1)
            elif isinstance(extra, dict):
                _prune(value[key], extra, _child(path, key), dropped, depth + 1)
            elif extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                continue
            else:
                del value[key]
                dropped.append(_child(path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _prune(item, schema["items"], f"{path}[{i}]", dropped, depth + 1)


# -- defaults ---------------------------------------------------------------------------

def apply_defaults(value: Any, schema: Obj, depth: int = 0) -> None:
    """Fill every absent (or null, when not nullable) property that has a `default`, deep
    first from the outside in, as upstream's structural defaulting does."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, dict):
                continue
            if "default" in sub and (key not in value or (
                    value[key] is None and not sub.get("nullable"))):
                value[key] = json.loads(json.dumps(sub["default"]))
            if key in value:
                apply_defaults(value[key], sub, depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            props = schema.get("properties") or {}
            for key, item in value.items():
                if key not in props:
                    apply_defaults(item, extra, depth + 1)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"], depth + 1)


# -- validation -------------------------------------------------------------------------

def validate(obj: Obj, schema: Obj) -> list[Cause]:
    """Field errors as (path, message), in upstream's words."""
    out: list[Cause] = []
    props = schema.get("properties") or {}
    for key in schema.get("required") or []:
        if key not in obj and key not in _ROOT_KEPT:
            out.append((key, "Required value"))
    for key, value in obj.items():
        if key in ("metadata",) or key not in props:
            continue
        _validate(value, props[key], key, out, 1)
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, schema: Obj) -> bool:
    wanted = schema.get("type")
    actual = _json_type(value)
    if value is None:
        return bool(schema.get("nullable"))
    if schema.get("x-kubernetes-int-or-string"):
        return actual in ("integer", "string")
    if not wanted:
        return True
    return actual == wanted or (wanted == "number" and actual == "integer")


def _validate(value: Any, schema: Obj, path: str, out: list[Cause], depth: int) -> None:
    if depth > MAX_DEPTH or not isinstance(schema, dict):
        return
    if not _type_ok(value, schema):
        wanted = "integer-or-string" if schema.get("x-kubernetes-int-or-string") \
            else schema.get("type")
        actual = _json_type(value)
        out.append((path, f'Invalid value: "{actual}": {path} in body must be of type '
                    f'{wanted}: "{actual}"'))
        return
    if value is None:
        return
    if "enum" in schema and isinstance(schema["enum"], list) and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        out.append((path, f"Unsupported value: {go_value(value)}: supported values: "
                    f"{allowed}"))
    if isinstance(value, bool):
        pass
    elif isinstance(value, int | float):
        _numbers(value, schema, path, out)
    elif isinstance(value, str):
        _strings(value, schema, path, out)
    elif isinstance(value, list):
        _arrays(value, schema, path, out, depth)
    elif isinstance(value, dict):
        _objects(value, schema, path, out, depth)
    for sub in schema.get("allOf") or []:
        if isinstance(sub, dict):
            _validate(value, sub, path, out, depth + 1)


def _numbers(value: float, schema: Obj, path: str, out: list[Cause]) -> None:
    shown = go_value(value)
    if "maximum" in schema:
        top = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= top:
            out.append((path, f"Invalid value: {shown}: {path} in body should be less than "
                        f"{_number(top)}"))
        elif value > top:
            out.append((path, f"Invalid value: {shown}: {path} in body should be less than or "
                        f"equal to {_number(top)}"))
    if "minimum" in schema:
        low = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= low:
            out.append((path, f"Invalid value: {shown}: {path} in body should be greater "
                        f"than {_number(low)}"))
        elif value < low:
            out.append((path, f"Invalid value: {shown}: {path} in body should be greater "
                        f"than or equal to {_number(low)}"))
    factor = schema.get("multipleOf")
    if isinstance(factor, int | float) and factor > 0 and (value / factor) % 1:
        out.append((path, f"Invalid value: {shown}: {path} in body should be a multiple of "
                    f"{_number(factor)}"))


def _strings(value: str, schema: Obj, path: str, out: list[Cause]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        out.append((path, f"Too long: may not be more than {schema['maxLength']} bytes"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        out.append((path, f"Invalid value: {go_value(value)}: {path} in body should be at "
                    f"least {schema['minLength']} chars long"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        compiled = compile_pattern(pattern)
        # None: a pattern RE2 refuses, which the definition's check refused already
        if compiled is not None and compiled.search(value) is None:
            out.append((path, f"Invalid value: {go_value(value)}: {path} in body should "
                        f"match '{pattern}'"))
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS and not _FORMATS[fmt](value):
        out.append((path, f"Invalid value: {go_value(value)}: {path} in body must be of "
                    f"type {fmt}: " + go_value(value)))


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """A schema's pattern compiled by RE2 (upstream's Go regexp is RE2: the same syntax, and
    linear time whatever the pattern and value); None when RE2 refuses it."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the refusal is reported, not logged to stderr
    try:
        return re2.compile(pattern, options=options)
    except re2.error:
        return None


def pattern_error(pattern: str) -> str | None:
    """Why RE2 refuses a pattern, None when it takes it."""
    import re2

    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(pattern, options=options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        return detail.decode() if isinstance(detail, bytes) else str(detail)
    return None


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                   r"[0-9a-fA-F]{12}")
_HOSTNAME = re.compile(r"(?=.{1,255}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?")
_MAC = re.compile(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}")
_DURATION = re.compile(r"[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+|0")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _ip(version: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        import ipaddress

        try:
            return ipaddress.ip_address(value).version == version
        except ValueError:
            return False

    return check


def _cidr(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


# The formats upstream's CR validation checks (kube-openapi's strfmt registry, the common
# ones); a format it does not know passes, as there.
_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": lambda v: _DATE_TIME.fullmatch(v) is not None,
    "date": lambda v: _DATE.fullmatch(v) is not None,
    "uuid": lambda v: _UUID.fullmatch(v) is not None,
    "hostname": lambda v: _HOSTNAME.fullmatch(v) is not None,
    "mac": lambda v: _MAC.fullmatch(v) is not None,
    "duration": lambda v: _DURATION.fullmatch(v) is not None,
    "byte": lambda v: len(v) % 4 == 0 and _BASE64.fullmatch(v) is not None,
    "ipv4": _ip(4), "ipv6": _ip(6), "cidr": _cidr,
}


def _arrays(value: list[Any], schema: Obj, path: str, out: list[Cause], depth: int) -> None:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append((path, f"Too many: {len(value)}: must have at most {schema['maxItems']} "
                    "items"))
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append((path, f"Invalid value: {len(value)}: {path} in body should have at least "
                    f"{schema['minItems']} items"))
    keys = schema.get("x-kubernetes-list-map-keys")
    if schema.get("x-kubernetes-list-type") == "map" and isinstance(keys, list):
        seen_keys: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            identity = json.dumps({k: item.get(k) for k in keys if isinstance(k, str)},
                                  sort_keys=True)
            if identity in seen_keys:
                shown = ", ".join(f'"{k}":{go_value(item.get(k))}' for k in keys
                                  if isinstance(k, str))
                out.append((f"{path}[{i}]", f"Duplicate value: map[string]interface {{}}"
                            f"{{{shown}}}"))
            seen_keys.append(identity)
    if schema.get("uniqueItems") or schema.get("x-kubernetes-list-type") == "set":
        seen: list[str] = []
        for i, item in enumerate(value):
            encoded = json.dumps(item, sort_keys=True)
            if encoded in seen:
                out.append((f"{path}[{i}]", f"Duplicate value: {go_value(item)}"))
            seen.append(encoded)
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _validate(item, items, f"{path}[{i}]", out, depth + 1)


def _objects(value: Obj, schema: Obj, path: str, out: list[Cause], depth: int) -> None:
    props = schema.get("properties") or {}
    for key in schema.get("required") or []:
        if key not in value:
            out.append((_child(path, key), "Required value"))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        out.append((path, f"Too many: {len(value)}: must have at most "
                    f"{schema['maxProperties']} items"))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        out.append((path, f"Invalid value: {len(value)}: {path} in body should have at least "
                    f"{schema['minProperties']} properties"))
    extra = schema.get("additionalProperties")
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    for key, item in value.items():
        if embedded and key in _ROOT_KEPT:
            continue
        if key in props:
            _validate(item, props[key], _child(path, key), out, depth + 1)
        elif isinstance(extra, dict):
            _validate(item, extra, _child(path, key), out, depth + 1)
    if embedded:
        for key in ("apiVersion", "kind"):
            if not value.get(key):
                out.append((_child(path, key), "Required value: must not be empty"))
