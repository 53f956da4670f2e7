"""The local Docker engine as the cluster's first Node: its object, the conditions its
kubelet reports, and its registration through the registry (as upstream's kubelet
registers its Node through the API, with the status its setters computed).

Below both the kubelet and the controllers: the kubelet registers the node it runs pods
on, and the scheduler and the DaemonSet controller need it to place pods, from a command
as from the controller, whichever comes first."""

from __future__ import annotations

from podctl import __version__, registry
from podctl.api import meta
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


def host_status() -> Obj:
    """What the host engine's kubelet reports of its node (addresses, capacity,
    allocatable, nodeInfo): one `docker info`, `version` and network inspect.
    DockerUnavailable when the engine does not answer."""
    status: Obj = node_object(engine_info(), gateway_ip())["status"]
    status["allocatable"] = dict(status["capacity"])
    return status


# The conditions a kubelet reports, in upstream's order: (type, reason, message) while
# healthy. Pressure is not measured: the engine's host is the machine it runs on.
HEALTHY = (("MemoryPressure", "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"),
           ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
           ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))
RUNTIME_DOWN = "container runtime is down"


def kubelet_conditions(runtime_up: bool, now: str, previous: list[Obj]) -> list[Obj]:
    """The node conditions a kubelet posts at `now`: Ready while its container runtime
    answers (else False, KubeletNotReady), no pressure. A condition whose status did not
    change keeps its lastTransitionTime, as upstream's setters do."""
    wanted = [(kind, "False", reason, message) for kind, reason, message in HEALTHY]
    wanted.append(("Ready", "True", "KubeletReady", "kubelet is posting ready status")
                  if runtime_up else ("Ready", "False", "KubeletNotReady", RUNTIME_DOWN))
    before = {c.get("type"): c for c in previous}
    out = []
    for kind, status, reason, message in wanted:
        old = before.get(kind) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else None
        out.append({"type": kind, "status": status, "lastHeartbeatTime": now,
                    "lastTransitionTime": since or now, "reason": reason,
                    "message": message})
    return out


def ready_status(node: Obj) -> str:
    """The node's Ready condition's status: True, False, or Unknown (also when it has
    none)."""
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status") or "Unknown")
    return "Unknown"


# The host node's name, kept in the home when it registers: other Nodes (added nodes, or
# objects a client registered) may sort before it, and asking the engine its name on
# every pod's sync would cost a call each time.
HOST_NODE_FILE = "host-node"


def _recorded_name(store: Store) -> str:
    try:
        return (store.path.parent / HOST_NODE_FILE).read_text().strip()
    except OSError:
        return ""


def host_node_name(store: Store) -> str | None:
    """The host node's name, once it registered and while its Node is stored."""
    name = _recorded_name(store)
    return name if name and store.get("Node", "", name) is not None else None


def ensure_node(store: Store) -> Obj:
    """The local node, registered through the registry on first use (one docker info
    call), with its status, as upstream's kubelet creates its Node through the API."""
    name = _recorded_name(store)
    known = store.get("Node", "", name) if name else None
    if known is not None:
        return known

    node = node_object(engine_info(), gateway_ip())
    node["status"]["allocatable"] = dict(node["status"]["capacity"])
    node["status"]["conditions"] = kubelet_conditions(True, meta.now_rfc3339(), [])
    try:
        stored = registry.create(store, node)
    except AlreadyExists:
        stored = store.require("Node", "", meta.name_of(node))
    (store.path.parent / HOST_NODE_FILE).write_text(meta.name_of(node) + "\n")
    return stored
