"""Object metadata helpers: names, uids, timestamps, kinds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

# kind -> (resource plural as kubectl names it, short singular used in "pod/x created")
RESOURCES: dict[str, tuple[str, str]] = {
    "Pod": ("pods", "pod"),
    "ReplicationController": ("replicationcontrollers", "replicationcontroller"),
    "Namespace": ("namespaces", "namespace"),
    "Node": ("nodes", "node"),
}

NAMESPACED = {"Pod", "ReplicationController"}


def plural(kind: str) -> str:
    return RESOURCES[kind][0]


def singular(kind: str) -> str:
    return RESOURCES[kind][1]


def new_uid() -> str:
    return str(uuid.uuid4())


def format_time(dt: datetime) -> str:
    """RFC 3339 with seconds and a Z, as the API server writes timestamps."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339() -> str:
    return format_time(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    """Parse RFC 3339 (Z or offset, optional fraction, Docker's nanoseconds too)."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, _, tz = text.partition("+")
    if "." in head:
        base, frac = head.split(".", 1)
        head = f"{base}.{frac[:6]}"
    return datetime.fromisoformat(f"{head}+{tz}" if tz else head).astimezone(UTC)


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def namespace_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("namespace", ""))


def uid_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("uid", ""))


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def controller_of(obj: Obj) -> Obj | None:
    """The ownerReference with controller: true, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


RESOURCE_ALIASES: dict[str, str] = {
    "pod": "Pod", "pods": "Pod", "po": "Pod",
    "replicationcontroller": "ReplicationController",
    "replicationcontrollers": "ReplicationController", "rc": "ReplicationController",
    "namespace": "Namespace", "namespaces": "Namespace", "ns": "Namespace",
    "node": "Node", "nodes": "Node", "no": "Node",
}


def kind_for(resource: str) -> str | None:
    """The kind a kubectl resource word names (`po`, `pods`, `rc`, `Pod`...), or None."""
    word = resource.lower()
    if word in RESOURCE_ALIASES:
        return RESOURCE_ALIASES[word]
    return next((k for k in RESOURCES if k.lower() == word), None)
