"""kubectl's columns and describe layouts for ConfigMaps and Secrets (values of a Secret are
never printed, only their sizes)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import Lines, annotations_multiline, describe_events, multiline_map

CONFIGMAP_HEADERS = ["NAME", "DATA", "AGE"]
SECRET_HEADERS = ["NAME", "TYPE", "DATA", "AGE"]


def configmap_row(cm: Obj, now: datetime, wide: bool) -> list[str]:
    count = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    return [cm["metadata"]["name"], str(count), age(cm["metadata"].get("creationTimestamp"), now)]


def secret_row(secret: Obj, now: datetime, wide: bool) -> list[str]:
    return [secret["metadata"]["name"], str(secret.get("type") or "Opaque"),
            str(len(secret.get("data") or {})),
            age(secret["metadata"].get("creationTimestamp"), now)]


def decoded_size(value: str) -> int:
    """Bytes a base64 value stands for (stored values were checked when written)."""
    try:
        return len(base64.b64decode(value))
    except (binascii.Error, ValueError):
        return 0


def _header(w: Lines, md: Obj) -> None:
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))


def describe_configmap(cm: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    """Header, then every value under its key, then the sizes of the binary ones."""
    w = Lines()
    _header(w, cm["metadata"])
    text = w.text()
    # Values are printed as they are: tabs in them must not become table columns.
    out = [text, "\nData\n====\n"]
    data = cm.get("data") or {}
    for key in sorted(data):
        out.append(f"{key}:\n----\n{data[key]}\n\n")
    out.append("\nBinaryData\n====\n")
    binary = cm.get("binaryData") or {}
    for key in sorted(binary):
        out.append(f"{key}: {decoded_size(binary[key])} bytes\n")
    out.append("\n")
    return "".join(out) + describe_events(events, now)


def describe_secret(secret: Obj) -> str:
    """Header, type, then `key:  N bytes` per key: kubectl shows no values and no events."""
    w = Lines()
    _header(w, secret["metadata"])
    w.add(0, "")
    w.add(0, f"Type:\t{secret.get('type') or 'Opaque'}")
    w.add(0, "")
    w.add(0, "Data")
    w.add(0, "====")
    data = secret.get("data") or {}
    for key in sorted(data):
        w.add(0, f"{key}:\t{decoded_size(data[key])} bytes")
    return w.text()
