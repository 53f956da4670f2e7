"""Semantic rules the API server enforces for ConfigMaps and Secrets (ValidateConfigMap,
ValidateSecret and their update forms), and the base64 decoding of their byte maps."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from podctl.manifest import names
from podctl.manifest.fielderr import forbidden, invalid, required, too_long
from podctl.manifest.problems import FieldPath, MapKey
from podctl.manifest.rules import Errors, _d, validate_metadata
from podctl.manifest.schema import FieldError

MAX_SIZE = 1024 * 1024  # MaxConfigMapSize and MaxSecretSize alike
CONFIG_KEY = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE = re.compile(f"^{CONFIG_KEY}$")
_B64_ALPHABET = re.compile(r"[^A-Za-z0-9+/=]")
IMMUTABLE = "field is immutable when `immutable` is set"
# Keys a Secret of a built-in type must carry (the first found is enough for basic-auth).
TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.key", "tls.crt"),
}


def config_key(key: str) -> list[str]:
    """IsConfigMapKey's details: a file name inside a volume, so no `.`, `..` or `..x`."""
    errs: list[str] = []
    if len(key) > 253:
        errs.append("must be no more than 253 characters")
    if not _CONFIG_KEY_RE.match(key):
        errs.append(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
            f"(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
            f"is '{CONFIG_KEY}')"
        )
    if key == ".":
        errs.append("must not be '.'")
    elif key == "..":
        errs.append("must not be '..'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def decode_bytes(text: str) -> bytes:
    """Go's StdEncoding decoding of a []byte field; ValueError names the first bad byte."""
    bad = _B64_ALPHABET.search(text)
    if bad is not None:
        raise ValueError(f"illegal base64 data at input byte {bad.start()}")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError(f"illegal base64 data at input byte {len(text.rstrip('='))}") from None


def _bytes_map(errs: Errors, kind: str, values: Any, path: FieldPath) -> int:
    """Decode a base64 map; its size in bytes (undecodable values count nothing)."""
    size = 0
    for key, value in _d(values).items():
        if not isinstance(value, str):
            continue
        try:
            size += len(decode_bytes(value))
        except ValueError as exc:
            errs.append(FieldError((*path, MapKey(key)),
                                   f'{kind} in version "v1" cannot be handled as a {kind}: '
                                   f"{exc}"))
    return size


def _keys(errs: Errors, values: Any, path: FieldPath, reported: str | None = None) -> None:
    """Key errors, located at the key; `reported` names the map the API server reports
    (stringData is merged into data before it validates)."""
    for key in _d(values):
        at = (*path, MapKey(key))
        said = (reported or path[0], MapKey(key))
        errs.extend(FieldError(at, invalid(said, key, d).message, at_key=True)
                    for d in config_key(str(key)))


def validate_configmap(obj: dict[str, Any]) -> Errors:
    """ValidateConfigMap (create)."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    data, binary = _d(obj.get("data")), _d(obj.get("binaryData"))
    _keys(errs, data, ("data",))
    _keys(errs, binary, ("binaryData",))
    for key in binary:
        if key in data:
            errs.append(invalid(("binaryData",), key, "duplicate of key present in data"))
    size = sum(len(str(v).encode()) for v in data.values())
    size += _bytes_map(errs, "ConfigMap", binary, ("binaryData",))
    if size > MAX_SIZE:
        # The API server reports a ConfigMap's size at a root path it names `[]`.
        errs.append(FieldError((), "[]" + too_long((), MAX_SIZE).message))
    return errs


def validate_secret(obj: dict[str, Any]) -> Errors:
    """ValidateSecret (create); stringData counts as the data it is merged into."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    data, plain = _d(obj.get("data")), _d(obj.get("stringData"))
    _keys(errs, data, ("data",))
    _keys(errs, plain, ("stringData",), reported="data")
    size = _bytes_map(errs, "Secret", {k: v for k, v in data.items() if k not in plain},
                      ("data",))
    size += sum(len(str(v).encode()) for v in plain.values())
    if size > MAX_SIZE:
        errs.append(too_long(("data",), MAX_SIZE))
    keys = set(data) | set(plain)
    secret_type = obj.get("type") or "Opaque"
    if secret_type == "kubernetes.io/basic-auth":
        if not keys & {"username", "password"}:
            errs.append(required(("data", MapKey("username"))))
            errs.append(required(("data", MapKey("password"))))
    elif secret_type == "kubernetes.io/service-account-token":
        annotations = _d(_d(obj.get("metadata")).get("annotations"))
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.append(required(("metadata", "annotations",
                                  MapKey("kubernetes.io/service-account.name"))))
    for key in TYPE_KEYS.get(secret_type, ()):
        if key not in keys:
            errs.append(required(("data", MapKey(key))))
    return errs


def validate_update(old: dict[str, Any], new: dict[str, Any]) -> Errors:
    """ValidateConfigMapUpdate / ValidateSecretUpdate: immutable objects keep their data, a
    Secret its type."""
    errs: Errors = []
    if new["kind"] == "Secret" and (old.get("type") or "Opaque") != (new.get("type")
                                                                     or "Opaque"):
        errs.append(invalid(("type",), new.get("type") or "Opaque", "field is immutable"))
    if old.get("immutable"):
        if not new.get("immutable"):
            errs.append(forbidden(("immutable",), IMMUTABLE))
        for field in ("data", "binaryData"):
            if (old.get(field) or {}) != (new.get(field) or {}):
                errs.append(forbidden((field,), IMMUTABLE))
    return errs
