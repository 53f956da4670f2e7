"""A home's service range, reserved on the Docker engine itself.

Several homes may share one engine, and none can read another's store. Each home's cluster
IPs come from a /24 inside 10.96.0.0/12 that Docker hands out: an internal network with that
subnet, labelled with the home's id. Docker refuses a subnet that overlaps another network's,
so two homes can never hold the same /24, and the home finds its network again by the label.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from podctl.locks import file_lock
from podctl.runtime import engines, naming
from podctl.runtime.client import docker_api, translate_errors

SERVICE_CIDR = ipaddress.IPv4Network("10.96.0.0/12")
HOME_LABEL = naming.HOME
BLOCKS = 2 ** (24 - SERVICE_CIDR.prefixlen)  # the /24s inside the /12


def network_name(home_id: str) -> str:
    return f"podctl-services-{home_id}"


def block(index: int) -> ipaddress.IPv4Network:
    """The index-th /24 of the service CIDR."""
    base = int(SERVICE_CIDR.network_address) + (index % BLOCKS) * 256
    return ipaddress.IPv4Network((base, 24))


def first_block(home_id: str) -> int:
    """Where a home starts looking, spread by its id so homes rarely try the same /24."""
    index: int = int(hashlib.sha256(home_id.encode()).hexdigest(), 16) % BLOCKS
    return index


def reserve_service_range(home_id: str) -> ipaddress.IPv4Network:
    """The home's /24, reserving one (an internal Docker network) the first time: always
    on the host's engine, whichever node's pod asks."""
    import docker.errors

    with engines.using(None):
        api = docker_api()
    with translate_errors():
        found = _find(api, home_id)
        if found is not None:
            return found
    # The home's commands and controller workers all reach here on first use: one reserves,
    # the others find its network (else each would win a /24 of its own).
    with file_lock("service-range"), translate_errors():
        found = _find(api, home_id)
        if found is not None:
            return found
        start = first_block(home_id)
        for step in range(BLOCKS):
            subnet = block(start + step)
            gateway = str(subnet.network_address + 254)
            ipam = docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=str(subnet), gateway=gateway)])
            try:
                api.create_network(network_name(home_id), driver="bridge", internal=True,
                                   ipam=ipam, labels={HOME_LABEL: home_id},
                                   check_duplicate=True)
            except docker.errors.APIError as exc:
                if exc.status_code == 409 or "already exists" in str(exc):
                    break  # this home's other command made it meanwhile
                if "overlap" in str(exc).lower():
                    continue
                raise
            break
        found = _find(api, home_id)
    if found is None:
        raise RuntimeError("no free /24 left in the service range 10.96.0.0/12")
    return found


def _find(api: Any, home_id: str) -> ipaddress.IPv4Network | None:
    """The oldest service-range network of this home (concurrent creators may race). By
    name, not the home's label alone: the home's nodes' pod CIDRs are networks with that
    label too, and one made first was taken for the service range."""
    nets = [n for n in api.networks(filters={"label": f"{HOME_LABEL}={home_id}"})
            if n.get("Name") == network_name(home_id)]
    nets.sort(key=lambda n: (n.get("Created", ""), n["Id"]))
    for net in nets:
        for cfg in (net.get("IPAM") or {}).get("Config") or []:
            if cfg.get("Subnet"):
                return ipaddress.IPv4Network(cfg["Subnet"])
    return None



def live_homes() -> set[str]:
    """The ids of the homes that hold a service range on this engine (every home that has
    ever written a rule holds one until it is reset)."""
    with translate_errors():
        nets = docker_api().networks(filters={"label": HOME_LABEL})
    return {str((n.get("Labels") or {}).get(HOME_LABEL)) for n in nets} - {"None", ""}
