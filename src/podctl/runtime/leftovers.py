"""What a home made on the engine, found by the labels everything of it carries: the
containers of its pods and system pods (and of nodes to come), its volumes, its service
range network; and their removal, for `podctl reset`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from podctl.runtime import naming
from podctl.runtime.client import container_list, engine_call, translate_errors
from podctl.runtime.network import NETWORK_NAME, forget_network

# On a short-lived container that edits the host's rules for a home (proxy.apply).
CLEANUP_LABEL = "io.podctl.proxy-cleanup"


@dataclass
class EngineObjects:
    """One home's things on the engine, by name."""

    containers: list[str] = field(default_factory=list)
    pods: set[str] = field(default_factory=set)  # uids of the pods they belong to
    volumes: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.containers or self.volumes or self.networks)


def _labelled(kind: str, label: str) -> list[dict[str, Any]]:
    query = {"filters": json.dumps({"label": [label]})}
    with translate_errors():
        if kind == "containers":
            return container_list({"label": [label]})
        if kind == "volumes":
            found: list[dict[str, Any]] = engine_call("GET", "/volumes", query)["Volumes"] or []
            return found
        listed: list[dict[str, Any]] = engine_call("GET", "/networks", query)
        return listed


def find(homeid: str) -> EngineObjects:
    """Everything labelled with this home's id (one list call per kind)."""
    found = EngineObjects()
    for label in (f"{naming.HOME}={homeid}", f"{CLEANUP_LABEL}={homeid}"):
        for entry in _labelled("containers", label):
            found.containers.append(_name(entry))
            uid = (entry.get("Labels") or {}).get(naming.POD_UID)
            if uid:
                found.pods.add(str(uid))
    found.volumes = sorted(str(v["Name"]) for v in _labelled("volumes",
                                                             f"{naming.HOME}={homeid}"))
    found.networks = sorted(str(n["Name"]) for n in _labelled("networks",
                                                              f"{naming.HOME}={homeid}"))
    found.containers.sort()
    return found


def _name(entry: dict[str, Any]) -> str:
    names = entry.get("Names") or []
    return str(names[0]).lstrip("/") if names else str(entry["Id"])[:12]


def remove(found: EngineObjects) -> None:
    """Remove them: containers first (forcibly, as `kind delete cluster` removes its
    nodes), then the volumes and networks they used. One gone meanwhile is fine."""
    with translate_errors():
        for name in found.containers:
            engine_call("DELETE", f"/containers/{name}", {"force": "1", "v": "1"},
                        allow=(404, 409))
        for name in found.volumes:
            engine_call("DELETE", f"/volumes/{name}", {"force": "1"}, allow=(404,))
        for name in found.networks:
            engine_call("DELETE", f"/networks/{name}", allow=(404,))


def any_home_left() -> bool:
    """Whether some home still has something on this engine: a home holds its service
    range before it makes its first pod, and keeps it until it is reset."""
    return bool(_labelled("networks", naming.HOME) or _labelled("containers", naming.HOME))


def remove_pod_network_if_unused() -> bool:
    """Remove the pod network all homes share once no home is left on the engine;
    whether it was removed (Docker refuses while a container is attached to it)."""
    import docker.errors

    if any_home_left():
        return False
    with translate_errors():
        listed = engine_call("GET", "/networks",
                             {"filters": json.dumps({"name": [NETWORK_NAME]})})
        removed = False
        for net in listed:
            if net.get("Name") != NETWORK_NAME:
                continue
            try:
                engine_call("DELETE", f"/networks/{net['Id']}", allow=(404,))
                removed = True
            except docker.errors.APIError:
                continue  # a container of another home joined it meanwhile: it stays
    forget_network()
    return removed
