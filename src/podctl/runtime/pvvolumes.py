"""The Docker named volumes behind provisioned PersistentVolumes: one per volume, named as
the PersistentVolume (`pvc-<claim uid>`), on the engine of the node the volume lives on.

Named volumes rather than directories under a node's data: the node's engine keeps them
across container, controller and dockerd restarts like any volume, reports where they are
(`Mountpoint`), refuses to remove one a container still uses, and a kubelet mounts them
by name on that engine alone (a node container's dockerd sees no host directory)."""

from __future__ import annotations

import json
from typing import Any

from podctl.home import home_id
from podctl.runtime import naming
from podctl.runtime.client import engine_call, translate_errors

VOLUME_LABEL = "io.podctl.persistentvolume"


def create(name: str) -> str:
    """Make (or find) the named volume on this block's engine; its mountpoint."""
    with translate_errors():
        made: dict[str, Any] = engine_call("POST", "/volumes/create", body={
            "Name": name, "Driver": "local",
            "Labels": {naming.MANAGED: "true", naming.HOME: home_id(),
                       VOLUME_LABEL: name}})
    return str(made.get("Mountpoint") or "")


def mountpoint(name: str) -> str | None:
    """Where the named volume is on this block's engine's host; None when it is missing.
    (A claim's sub-path is bound from there: runtime.subpaths.)"""
    with translate_errors():
        found = engine_call("GET", f"/volumes/{name}", allow=(404,))
    return str(found.get("Mountpoint") or "") if found else None


def exists(name: str) -> bool:
    with translate_errors():
        found = engine_call("GET", f"/volumes/{name}", allow=(404,))
    return bool(found)


def remove(name: str) -> bool:
    """Remove the named volume with its data; False while a container still uses it
    (the engine's 409), True once it is gone."""
    with translate_errors():
        engine_call("DELETE", f"/volumes/{name}", allow=(404, 409))
        return not exists(name)


def names() -> set[str]:
    """The provisioned volumes of this home on this block's engine."""
    with translate_errors():
        found = engine_call("GET", "/volumes", {"filters": json.dumps(
            {"label": [f"{naming.HOME}={home_id()}", VOLUME_LABEL]})})
    return {str(v["Name"]) for v in found.get("Volumes") or []}
