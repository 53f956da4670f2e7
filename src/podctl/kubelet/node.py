"""The local Docker engine as a Node object in the store."""

from __future__ import annotations

from podctl import __version__, registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, DockerUnavailable
from podctl.kubelet.status import NodeFacts
from podctl.runtime.engine import engine_info
from podctl.runtime.network import gateway_ip
from podctl.store import Store


def node_object(info: dict[str, object], host_ip: str) -> Obj:
    """A v1 Node for the engine described by `info` (see runtime.engine.engine_info)."""
    name = str(info["name"])
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": str(info["os"]),
                "kubernetes.io/arch": str(info["arch"]),
                "beta.kubernetes.io/os": str(info["os"]),
                "beta.kubernetes.io/arch": str(info["arch"]),
            },
        },
        "spec": {},
        "status": {
            "addresses": [{"type": "InternalIP", "address": host_ip},
                          {"type": "Hostname", "address": name}],
            "capacity": {"cpu": str(info["cpus"]),
                         "memory": f"{int(str(info['memory'])) // 1024}Ki", "pods": "110"},
            "nodeInfo": {
                "architecture": str(info["arch"]),
                "containerRuntimeVersion": str(info["runtime"]),
                "kernelVersion": str(info["kernel"]),
                "kubeletVersion": f"podctl-v{__version__}",
                "operatingSystem": str(info["os"]),
                "osImage": str(info["os_image"]),
                "machineID": str(info["id"]),
            },
        },
    }


def ensure_node(store: Store) -> Obj:
    """The local node, registered through the registry on first use (one docker info
    call), with its status, as upstream's kubelet creates its Node through the API."""
    nodes = store.list("Node")
    if nodes:
        return nodes[0]

    node = node_object(engine_info(), gateway_ip())
    try:
        return registry.create(store, node)
    except AlreadyExists:
        return store.list("Node")[0]


def node_facts(node: Obj | None) -> NodeFacts | None:
    if node is None:
        return None
    ip = next((a["address"] for a in node.get("status", {}).get("addresses", [])
               if a.get("type") == "InternalIP"), "")
    return NodeFacts(name=node["metadata"]["name"], host_ip=ip)


def nodes_with_status(store: Store, nodes: list[Obj]) -> list[Obj]:
    """Nodes as `get`/`describe` show them: the stored Node with live engine facts and a
    Ready condition that is True while the Docker engine answers."""
    try:
        info: dict[str, object] | None = engine_info()
        host_ip = gateway_ip()
    except DockerUnavailable:
        info, host_ip = None, ""
    now = meta.now_rfc3339()
    out = []
    for node in nodes:
        full = dict(node)
        status = dict(node.get("status") or {})
        if info is not None and str(info["name"]) == meta.name_of(node):
            status.update(node_object(info, host_ip)["status"])
        status["allocatable"] = dict(status.get("capacity") or {})
        status["conditions"] = [_ready(info is not None, now, node)]
        full["status"] = status
        out.append(full)
    return out


def _ready(answering: bool, now: str, node: Obj) -> Obj:
    since = node["metadata"].get("creationTimestamp")
    if answering:
        return {"lastHeartbeatTime": now, "lastTransitionTime": since,
                "message": "podctl: the Docker engine is answering", "reason": "KubeletReady",
                "status": "True", "type": "Ready"}
    return {"lastHeartbeatTime": now, "lastTransitionTime": now,
            "message": "podctl: the Docker engine does not answer",
            "reason": "KubeletNotReady", "status": "False", "type": "Ready"}
