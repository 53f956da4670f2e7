"""Node IPAM: a node container's pod CIDR, a /24 of the cluster CIDR reserved on the host's
engine.

Several homes share the host's engine and none can read another's store; what they share
is the engine. As with the service ranges (servicenet.py), a /24 is held by a Docker network
with that subnet, labelled with the home and the node: Docker refuses a subnet overlapping
another network's, so no two nodes of any homes get one CIDR, nor one that overlaps a
network already on the host. The network is internal and its bridge has no IPv4 address
(`inhibit_ipv4`): it adds no route to the host's table, where the node's route
`<podCIDR> via <nodeIP>` goes. It goes with the node (`release`) or with its home (a reset
removes every network labelled with the home).
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from podctl.locks import file_lock
from podctl.runtime import engines, naming
from podctl.runtime.client import engine_call

# kind's default pod subnet: every node container's /24 comes from it.
CLUSTER_CIDR = ipaddress.IPv4Network("10.244.0.0/16")
NODE_PREFIX = 24
BLOCKS = 2 ** (NODE_PREFIX - CLUSTER_CIDR.prefixlen)
# On a reservation network: the node it is for (the home is naming.HOME).
NODE_LABEL = "io.podctl.pod-cidr-node"


def node_cidr(index: int) -> ipaddress.IPv4Network:
    """The index-th /24 of the cluster CIDR."""
    base = int(CLUSTER_CIDR.network_address) + (index % BLOCKS) * 2 ** (32 - NODE_PREFIX)
    return ipaddress.IPv4Network((base, NODE_PREFIX))


def first_index(homeid: str, node: str) -> int:
    """Where a node's search for a free /24 starts: spread by home and node, so homes
    rarely try the same block."""
    index: int = int(hashlib.sha256(f"{homeid}/{node}".encode()).hexdigest(), 16) % BLOCKS
    return index


def network_name(homeid: str, node: str) -> str:
    return f"podctl-podcidr-{homeid}-{hashlib.sha256(node.encode()).hexdigest()[:12]}"


def reserve(homeid: str, node: str) -> ipaddress.IPv4Network:
    """The node's pod CIDR, reserving a free /24 the first time."""
    with engines.using(None):
        found = _find(homeid, node)
        if found is not None:
            return found
        with file_lock("pod-cidrs"):
            found = _find(homeid, node)
            if found is not None:
                return found
            start = first_index(homeid, node)
            for step in range(BLOCKS):
                subnet = node_cidr(start + step)
                if _create(homeid, node, subnet):
                    break
            found = _find(homeid, node)
    if found is None:
        raise RuntimeError(f"no free /24 left in the cluster CIDR {CLUSTER_CIDR}")
    return found


def _create(homeid: str, node: str, subnet: ipaddress.IPv4Network) -> bool:
    """Whether the network holding `subnet` for the node was made (False: overlap)."""
    body = {"Name": network_name(homeid, node), "Driver": "bridge", "Internal": True,
            "CheckDuplicate": True,
            "IPAM": {"Config": [{"Subnet": str(subnet)}]},
            "Options": {"com.docker.network.bridge.inhibit_ipv4": "true"},
            "Labels": {naming.HOME: homeid, NODE_LABEL: node}}
    import docker.errors

    try:
        engine_call("POST", "/networks/create", body=body, allow=(409,))
    except docker.errors.APIError as exc:
        if "overlap" in str(exc).lower():
            return False
        raise
    return True


def release(homeid: str, node: str) -> None:
    """The node's reservation goes (the node is deleted); none is fine."""
    with engines.using(None):
        for net in _listed({"label": [f"{naming.HOME}={homeid}", f"{NODE_LABEL}={node}"]}):
            engine_call("DELETE", f"/networks/{net['Id']}", allow=(404, 409))


def owners() -> dict[str, str]:
    """Every reserved pod CIDR on the host's engine, of any home: CIDR -> home id."""
    with engines.using(None):
        listed = _listed({"label": [NODE_LABEL]})
    found = {}
    for net in listed:
        subnet = _subnet(net)
        if subnet is not None:
            found[str(subnet)] = str((net.get("Labels") or {}).get(naming.HOME) or "")
    return found


def _find(homeid: str, node: str) -> ipaddress.IPv4Network | None:
    """The oldest reservation of this home's node (concurrent makers may race)."""
    nets = _listed({"label": [f"{naming.HOME}={homeid}", f"{NODE_LABEL}={node}"]})
    nets.sort(key=lambda n: (n.get("Created", ""), n["Id"]))
    for net in nets:
        subnet = _subnet(net)
        if subnet is not None:
            return subnet
    return None


def _listed(filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    import json

    listed: list[dict[str, Any]] = engine_call("GET", "/networks",
                                               {"filters": json.dumps(filters)})
    return listed


def _subnet(net: dict[str, Any]) -> ipaddress.IPv4Network | None:
    for cfg in (net.get("IPAM") or {}).get("Config") or []:
        if cfg.get("Subnet") and ":" not in cfg["Subnet"]:
            return ipaddress.IPv4Network(cfg["Subnet"])
    return None
