"""The local Docker engine as the cluster's one Node: its object, and its registration
through the registry (as upstream's kubelet registers its Node through the API).

Below both the kubelet and the controllers: the kubelet registers the node it runs pods
on, and the scheduler and the DaemonSet controller need it to place pods, from a command
as from the controller, whichever comes first."""

from __future__ import annotations

from podctl import __version__, registry
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists
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
