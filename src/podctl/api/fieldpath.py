"""Downward API field paths (an env var's fieldRef) read from a pod object."""

from __future__ import annotations

import re

from podctl.api.meta import Obj

_KEYED = re.compile(r"metadata\.(labels|annotations)\['(.+)'\]")


def field_value(pod: Obj, path: str) -> str:
    """The value of `path` in the pod as written, empty for paths it does not have."""
    md, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    simple = {
        "metadata.name": md.get("name", ""),
        "metadata.namespace": md.get("namespace", ""),
        "metadata.uid": md.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
        "status.podIP": status.get("podIP", ""),
        "status.podIPs": status.get("podIP", ""),
        "status.hostIP": status.get("hostIP", ""),
        "status.hostIPs": status.get("hostIP", ""),
    }
    if path in simple:
        return str(simple[path])
    match = _KEYED.fullmatch(path)
    if match:
        return str((md.get(match.group(1)) or {}).get(match.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        items = md.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    return ""
