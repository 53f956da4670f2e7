"""Node containers (kind's design): a node is a container on the host's engine running its
own dockerd, reached through a unix socket bind-mounted out (runtime.engines).

What the container is allowed, and why (README, "Several nodes"): every capability but
CAP_SYS_RESOURCE (dockerd sets up namespaces, mounts, cgroups and netfilter for its pods;
`--privileged` cannot be used on a host whose capability bounding set lacks
CAP_SYS_RESOURCE), seccomp and AppArmor unconfined (runc's own syscalls and mounts), the
host's cgroup hierarchy (cgroup v1 and the cgroupfs driver: runc writes its pods' cgroups
there, under the node container's own), a tmpfs /run (a crashed node must not leave pid
files and sockets for its next start) and a volume for /var/lib/docker (overlay2 cannot
stack on the container's own overlay root).
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from podctl.errors import DockerUnavailable
from podctl.runtime import engines, naming, podcidrs
from podctl.runtime.client import container_list, create_body, engine_call, ping
from podctl.runtime.network import NETWORK_NAME, ensure_network

NODE_IMAGE = "podctl/node:1"
# On a node container and its volume: the Node's name.
NODE_LABEL = "io.podctl.node"
READY_POLL = 0.05


def container_name(homeid: str, node: str) -> str:
    return f"podctl-node-{homeid}-{node}"


def dockerd_args() -> list[str]:
    """The node's dockerd command line (images/node/node-run adds its cgroup parent).

    The place for what a node's engine must be told about the cluster's pod network
    (bridge settings, masquerade): a node's pod network itself is made by
    runtime.network.ensure_network from the Node's spec.podCIDR (engines.Engine.pod_cidr).
    """
    # No docker0: pods are on the node's `podctl` network, on its pod CIDR, and a default
    # bridge would take a range (172.17.0.0/16) the host's engine has too.
    return ["--host", f"unix://{engines.NODE_SOCKET_DIR}/{engines.SOCKET_NAME}",
            "--bridge=none"]


def create(homeid: str, node: str, shared_dirs: list[str]) -> str:
    """Create and start the node's container on the host's engine; its id. `shared_dirs`
    are host directories the node's pods mount at the same path (the home's configMap and
    secret volume files)."""
    sockets = engines.socket_dir(homeid, node)
    sockets.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = container_name(homeid, node)
    labels = {naming.HOME: homeid, NODE_LABEL: node}
    with engines.using(None):
        engine_call("POST", "/volumes/create", body={"Name": name, "Labels": labels})
        binds = ["/sys/fs/cgroup:/sys/fs/cgroup:rw", f"{name}:/var/lib/docker",
                 f"{sockets}:{engines.NODE_SOCKET_DIR}",
                 *(f"{path}:{path}:ro" for path in shared_dirs)]
        network = ensure_network()
        created = engine_call("POST", "/containers/create", {"name": name}, body=create_body(
            Image=NODE_IMAGE, Cmd=dockerd_args(), Hostname=node[:63],
            Labels=labels,
            HostConfig={
                "CapAdd": ["ALL"], "CapDrop": ["SYS_RESOURCE"],
                "SecurityOpt": ["seccomp=unconfined", "apparmor=unconfined"],
                "Binds": binds, "Tmpfs": {"/run": "rw,nosuid,nodev,mode=0755"},
                "NetworkMode": NETWORK_NAME,
                # Back after the host's engine restarts (a machine's reboot), as kind's
                # nodes are; `node stop` (a kill through the API) keeps it stopped.
                "RestartPolicy": {"Name": "unless-stopped"},
            },
            NetworkingConfig={"EndpointsConfig": {NETWORK_NAME: {"NetworkID": network}}}))
        container_id = str(created["Id"])
        engine_call("POST", f"/containers/{container_id}/start")
    return container_id


def inspect(homeid: str, node: str) -> dict[str, Any] | None:
    """The node container's inspect answer; None when it does not exist."""
    with engines.using(None):
        found: dict[str, Any] | None = engine_call(
            "GET", f"/containers/{container_name(homeid, node)}/json", allow=(404,))
    return found


def address(info: dict[str, Any]) -> str:
    """The node's IP on the pod network it shares with the host (its InternalIP)."""
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    return str((networks.get(NETWORK_NAME) or {}).get("IPAddress") or "")


def wait_ready(engine: engines.Engine, timeout: float) -> None:
    """Until the node's dockerd answers; DockerUnavailable after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with engines.using(engine):
        while True:
            try:
                ping()
                return
            except DockerUnavailable:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(READY_POLL)


def kill(homeid: str, node: str) -> None:
    """Stop the node as a crash does: SIGKILL to the whole container, its dockerd and
    every pod at once. A node already stopped stays so."""
    with engines.using(None):
        engine_call("POST", f"/containers/{container_name(homeid, node)}/kill",
                    allow=(409,))


def start(homeid: str, node: str) -> None:
    with engines.using(None):
        engine_call("POST", f"/containers/{container_name(homeid, node)}/start")


def remove(homeid: str, node: str) -> None:
    """The node container, its volume (its engine's images and containers) and its socket
    directory; what is already gone is fine."""
    name = container_name(homeid, node)
    with engines.using(None):
        engine_call("DELETE", f"/containers/{name}", {"force": "1", "v": "1"},
                    allow=(404,))
        engine_call("DELETE", f"/volumes/{name}", {"force": "1"}, allow=(404,))
    shutil.rmtree(engines.socket_dir(homeid, node), ignore_errors=True)
    podcidrs.release(homeid, node)


def addresses(homeid: str) -> dict[str, str]:
    """The current address of each of the home's running node containers (one list
    call): a node started again may have another than it registered with."""
    with engines.using(None):
        listed = container_list({"label": [f"{naming.HOME}={homeid}", NODE_LABEL],
                                 "status": ["running"]})
    found = {}
    for entry in listed:
        node = (entry.get("Labels") or {}).get(NODE_LABEL)
        networks = (entry.get("NetworkSettings") or {}).get("Networks") or {}
        ip = (networks.get(NETWORK_NAME) or {}).get("IPAddress")
        if node and ip:
            found[str(node)] = str(ip)
    return found
