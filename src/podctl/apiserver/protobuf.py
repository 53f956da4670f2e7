"""Request bodies in application/vnd.kubernetes.protobuf, as kubectl's typed clients send
them (`kubectl create deployment|configmap|secret|namespace`, `kubectl run`): the `k8s\\0`
envelope (runtime.Unknown) around the object's protobuf, decoded into its JSON form with the
field numbers of src/podctl/schemas/k8s-proto.json (tools/gen_protos.py)."""

from __future__ import annotations

import base64
import functools
import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from podctl.api.duration import go_duration
from podctl.api.meta import Obj, format_time
from podctl.apiserver.bodies import BodyError, decode_json
from podctl.manifest.yamlparse import MAX_DEPTH

TABLE = Path(__file__).resolve().parent.parent / "schemas" / "k8s-proto.json"
MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
META = "k8s.io.apimachinery.pkg.apis.meta.v1."
GROUPS = {"": "core", "apps": "apps", "batch": "batch", "autoscaling": "autoscaling",
          "policy": "policy", "rbac.authorization.k8s.io": "rbac",
          "authorization.k8s.io": "authorization", "authentication.k8s.io": "authentication",
          "networking.k8s.io": "networking"}


# Embedded structs Go's JSON inlines (`json:",inline"`): their fields are the outer
# object's, where protobuf nests them in a field of their own.
INLINE = {("k8s.io.api.networking.v1.IngressRule", "ingressRuleValue"),
          ("k8s.io.api.core.v1.Volume", "volumeSource"),
          ("k8s.io.api.core.v1.PersistentVolumeSpec", "persistentVolumeSource"),
          ("k8s.io.api.core.v1.EphemeralContainer", "ephemeralContainerCommon")}
# Numbers Go's JSON leaves out when zero (`omitempty`) beside ObjectMeta's: a backend port
# given by name has number 0 on the wire.
OMIT_ZERO = {("k8s.io.api.networking.v1.ServiceBackendPort", "number")}


# A varint is at most 10 bytes (64 bits); a longer run is hostile, not a number.
MAX_VARINT_BYTES = 10


class ProtobufError(ValueError):
    pass


@functools.cache
def _messages() -> dict[str, dict[str, list[Any]]]:
    data: dict[str, dict[str, list[Any]]] = json.loads(TABLE.read_text())["messages"]
    return data


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(MAX_VARINT_BYTES):
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
    raise ProtobufError("varint longer than 10 bytes")


def _take(buf: bytes, pos: int, size: int) -> tuple[bytes, int]:
    if pos + size > len(buf):
        raise ProtobufError("unexpected EOF")
    return buf[pos:pos + size], pos + size


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, raw value) in order."""
    out = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = _take(buf, pos, 8)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = _take(buf, pos, size)
        elif wire == 5:
            value, pos = _take(buf, pos, 4)
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _signed(value: int, bits: int = 64) -> int:
    return value - (1 << 64) if value >= 1 << (bits - 1) else value


def _scalar(kind: str, wire: int, value: Any) -> Any:
    # The wire type must carry what the field is: bytes(an int) would allocate that many.
    if kind in ("string", "bytes"):
        if not isinstance(value, bytes):
            raise ProtobufError(f"wrong wire type {wire} for a {kind}")
        return value.decode() if kind == "string" else base64.b64encode(value).decode()
    if kind in ("double", "float"):
        size = 8 if kind == "double" else 4
        if not isinstance(value, bytes) or len(value) != size:
            raise ProtobufError(f"wrong wire type {wire} for a {kind}")
        return struct.unpack("<d" if size == 8 else "<f", value)[0]
    if not isinstance(value, int):
        raise ProtobufError(f"wrong wire type {wire} for a {kind}")
    if kind == "bool":
        return bool(value)
    if kind in ("int32", "int64"):
        return _signed(value)
    if kind in ("uint32", "uint64"):
        return value
    raise ProtobufError(f"unsupported type {kind}")


def _packed(kind: str, buf: bytes) -> list[Any]:
    out, pos = [], 0
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        out.append(_scalar(kind, 0, value))
    return out




def _special(name: str, buf: bytes) -> tuple[bool, Any]:
    """Types with their own JSON form: times, quantities, int-or-strings, raw JSON."""
    if name in (META + "Time", META + "MicroTime"):
        values = {n: v for n, _, v in _fields(buf)}
        if not values.get(1) and not values.get(2):
            return True, None  # Go's zero time: unset
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            seconds=_signed(values.get(1, 0)), microseconds=values.get(2, 0) // 1000)
        if name.endswith("MicroTime"):
            return True, moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return True, format_time(moment)
    if name == META + "Duration":
        values = {n: v for n, _, v in _fields(buf)}
        return True, go_duration(_signed(values.get(1, 0)))
    if name == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        values = {n: v for n, _, v in _fields(buf)}
        return True, _bytes(values, 1).decode()
    if name == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        values = {n: v for n, _, v in _fields(buf)}
        if values.get(1, 0) == 1:
            return True, _bytes(values, 3).decode()
        return True, _signed(values.get(2, 0), 32)
    if name in ("k8s.io.apimachinery.pkg.runtime.RawExtension", META + "FieldsV1"):
        values = {n: v for n, _, v in _fields(buf)}
        raw = _bytes(values, 1)
        return True, decode_json(raw).value if raw else None
    return False, None


def _bytes(values: dict[int, Any], number: int) -> bytes:
    """A length-delimited field of a special message: a varint in its place would be read
    by bytes() as a size to allocate."""
    value = values.get(number, b"")
    if not isinstance(value, bytes):
        raise ProtobufError(f"wrong wire type for field {number}: a length-delimited one "
                            "was expected")
    return value


def decode_message(buf: bytes, name: str, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ProtobufError(f"message nesting is deeper than {MAX_DEPTH} levels")
    handled, value = _special(name, buf)
    if handled:
        return value
    spec = _messages().get(name)
    if spec is None:
        raise ProtobufError(f"no protobuf table for {name}")
    out: dict[str, Any] = {}
    for number, wire, raw in _fields(buf):
        field = spec.get(str(number))
        if field is None:
            continue  # a field newer than the table: ignored, as an old server would
        json_name, label, kind = field
        if label == "m":
            key_kind, value_kind = kind
            entry = {n: (w, v) for n, w, v in _fields(raw)}
            key = _value(key_kind, *entry.get(1, (2, b"")), depth)
            out.setdefault(json_name, {})[key] = _value(value_kind, *entry.get(2, (2, b"")),
                                                        depth)
        elif label == "r":
            if wire == 2 and kind in ("int32", "int64", "bool", "uint32", "uint64"):
                out.setdefault(json_name, []).extend(_packed(kind, raw))
            else:
                out.setdefault(json_name, []).append(_value(kind, wire, raw, depth))
        else:
            value = _value(kind, wire, raw, depth)
            if (name, json_name) in INLINE and isinstance(value, dict):
                out.update(value)
                continue
            # Go writes every non-pointer field; its JSON leaves the empty ones out (all of
            # ObjectMeta's, zero numbers included).
            if value != "" and value is not None and not (
                    (name == META + "ObjectMeta" or (name, json_name) in OMIT_ZERO)
                    and value in (0, False)):
                out[json_name] = value
    return out


def _value(kind: str, wire: int, raw: Any, depth: int) -> Any:
    if kind in ("string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double",
                "float"):
        return _scalar(kind, wire, raw)
    if not isinstance(raw, bytes):
        raise ProtobufError(f"wrong wire type for a {kind}")
    return decode_message(raw, kind, depth + 1)


def message_for(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    if kind == "DeleteOptions":
        return META + "DeleteOptions"
    package = GROUPS.get(group)
    if package is None:
        raise ProtobufError(f"no protobuf table for {api_version}")
    return f"k8s.io.api.{package}.{version}.{kind}"


def decode(body: bytes) -> Obj:
    """A protobuf request body as the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf message (no k8s envelope)")
    try:
        unknown = decode_message(body[len(MAGIC):], "k8s.io.apimachinery.pkg.runtime.Unknown")
        type_meta = unknown.get("typeMeta") or {}
        api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
        raw = base64.b64decode(unknown.get("raw", ""))
        obj: Obj = decode_message(raw, message_for(api_version, kind))
    except BodyError as exc:
        raise ProtobufError(f"a RawExtension is not JSON: {exc}") from exc
    except (TypeError, OverflowError, struct.error, AttributeError) as exc:
        # A field of the wrong wire type where a message was expected, a time out of range.
        raise ProtobufError(f"malformed message: {exc}") from exc
    return {"apiVersion": api_version, "kind": kind, **obj}
