"""The cluster's Nodes as engines: the local Docker engine is the first node (named after
its host), a node container (`podctl node add`) each further one. Their objects, the
conditions a kubelet reports, the host node's registration through the registry (as
upstream's kubelet registers its Node through the API, with the status its setters
computed), and which engine runs a node's pods.

Below both the kubelet and the controllers: the kubelet registers the node it runs pods
on, and the scheduler and the DaemonSet controller need it to place pods, from a command
as from the controller, whichever comes first."""

from __future__ import annotations

from podctl import __version__, registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, Conflict
from podctl.home import home_id
from podctl.runtime import engines, nodecontainers
from podctl.runtime.engine import engine_info
from podctl.runtime.network import gateway_ip, pod_subnet
from podctl.store import Store


def node_object(info: dict[str, object], host_ip: str, kind: str = engines.HOST) -> Obj:
    """A v1 Node for the engine described by `info` (see runtime.engine.engine_info), of
    `kind` (engines.HOST or CONTAINER)."""
    name = str(info["name"])
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {engines.ENGINE_ANNOTATION: kind},
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
    with engines.using(None):
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


def host_node_name(store: Store) -> str | None:
    """The host node's name, once it registered and while its Node is stored."""
    found = host_node(store)
    return None if found is None else meta.name_of(found)


def ensure_node(store: Store) -> Obj:
    """The host's node (the first), registered through the registry on first use (one
    docker info call, with the host's engine whichever block asks), with its status, as
    upstream's kubelet creates its Node through the API."""
    found = host_node(store)
    if found is not None:
        return found
    with engines.using(None):
        node = node_object(engine_info(), gateway_ip())
        cidr = pod_subnet()  # the pods' range on the host's engine (Docker chose it)
    if cidr:
        node["spec"] = {**node.get("spec", {}), "podCIDR": cidr, "podCIDRs": [cidr]}
    node["status"]["allocatable"] = dict(node["status"]["capacity"])
    node["status"]["conditions"] = kubelet_conditions(True, meta.now_rfc3339(), [])
    try:
        return registry.create(store, node)
    except AlreadyExists:
        # Registered meanwhile, or by a podctl that did not mark the host's node yet.
        def mark(stored: Obj) -> bool:
            annotations = stored["metadata"].setdefault("annotations", {})
            if annotations.get(engines.ENGINE_ANNOTATION) == engines.HOST:
                return False
            annotations[engines.ENGINE_ANNOTATION] = engines.HOST
            return True

        return registry.mutate(store, "Node", "", meta.name_of(node), mark) or node


def host_node(store: Store) -> Obj | None:
    return next((n for n in store.list("Node") if engines.kind_of(n) == engines.HOST), None)


def kubelet_engine(store: Store, node_name: str) -> tuple[Obj, engines.Engine | None] | None:
    """The node and the engine its pods run on (None: the host's); None when no kubelet
    of this home runs that node (no such Node, or one registered through the API alone)."""
    node = store.get("Node", "", node_name) if node_name else None
    if node is None or engines.kind_of(node) is None:
        return None
    return node, engines.engine_of(home_id(store.path.parent), node)


def pod_engine(store: Store, pod: Obj) -> engines.Engine | None:
    """The engine a pod's containers are on: its node's, the host's for a pod on no
    kubelet's node (it has none anywhere)."""
    found = kubelet_engine(store, str(pod["spec"].get("nodeName") or ""))
    return None if found is None else found[1]


def container_node(homeid: str, name: str) -> Obj:
    """A node container's Node as its kubelet registers it, from its engine and its
    container (Ready: its engine answered); DockerUnavailable when it does not answer."""
    with engines.using(engines.node_engine(homeid, name)):
        info = engine_info()
    address = nodecontainers.address(nodecontainers.inspect(homeid, name) or {})
    node = node_object({**info, "name": name}, address, engines.CONTAINER)
    node["status"]["allocatable"] = dict(node["status"]["capacity"])
    node["status"]["conditions"] = kubelet_conditions(True, meta.now_rfc3339(), [])
    return node


def container_status(homeid: str, name: str) -> Obj:
    """A node container's status as its kubelet reports it (addresses, capacity,
    allocatable, nodeInfo; its heartbeat sets the conditions); DockerUnavailable when its
    engine does not answer."""
    status: Obj = container_node(homeid, name)["status"]
    status.pop("conditions")
    return status


def post_address(store: Store, name: str, address: str) -> None:
    """The node's InternalIP as its container has it now: Docker may give a container
    started again another address on the network than it had."""
    for _ in range(registry.CONFLICT_RETRIES):
        node = store.get("Node", "", name)
        if node is None or not address:
            return
        status = node.setdefault("status", {})
        addresses = [{"type": "InternalIP", "address": address}, *(
            a for a in status.get("addresses") or [] if a.get("type") != "InternalIP")]
        if addresses == status.get("addresses"):
            return
        status["addresses"] = addresses
        try:
            registry.update_status(store, node)
            return
        except Conflict:
            continue
