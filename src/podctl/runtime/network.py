"""The Docker network pods live on: created on demand, labelled as podctl's own."""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

from podctl.runtime import engines, naming
from podctl.runtime.client import engine_call

NETWORK_NAME = "podctl"


def ensure_network() -> str:
    """The id of podctl's bridge network on this block's engine, creating it if missing."""
    return _ensure(engines.current())


@cache
def _ensure(engine: engines.Engine | None) -> str:
    found = _find()
    if found:
        return found
    body: dict[str, Any] = {"Name": NETWORK_NAME, "Driver": "bridge", "CheckDuplicate": True,
                            "Labels": {naming.NETWORK_LABEL: "true"}}
    if engine is not None and engine.pod_cidr:
        # A node's pods get addresses from its pod CIDR (the Node's spec.podCIDR).
        body["IPAM"] = {"Config": [{"Subnet": engine.pod_cidr}]}
        # Pod to pod across nodes is not NATed (the server sees the client's pod IP): the
        # node's network agent masquerades only what leaves the pod ranges.
        body["Options"] = {"com.docker.network.bridge.enable_ip_masquerade": "false"}
    # 409: another podctl made it first (engines that still check duplicate names); 403 on
    # a node: another of this process's pods made it first, on the same subnet.
    allow = (403, 409) if "IPAM" in body else (409,)
    created = engine_call("POST", "/networks/create", body=body, allow=allow)
    found = _find()
    if not found and "IPAM" in body:
        found = _wait_found()  # the other maker holds the subnet and is storing its network
    if not found and "IPAM" in body:
        raise RuntimeError(f"the node's pod CIDR {body['IPAM']['Config'][0]['Subnet']} "
                           "overlaps a network of its engine")
    if not found:
        raise RuntimeError(f"network {NETWORK_NAME} vanished after creation")
    mine = (created or {}).get("Id")
    if mine and mine != found:
        # Newer engines make a second network of the same name when two podctl processes
        # race; everyone uses the oldest, and a name that matches two networks makes the
        # engine refuse to start a container on either ("network podctl is ambiguous").
        engine_call("DELETE", f"/networks/{mine}", allow=(403, 404, 409))
    return found


def _wait_found(timeout: float = 5.0) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _find()
        if found:
            return found
        time.sleep(0.05)
    return None


def _find() -> str | None:
    """Oldest network with our name: concurrent creators may race and make two."""
    listed = engine_call("GET", "/networks", {"filters": json.dumps({"name": [NETWORK_NAME]})})
    nets = [n for n in listed if n.get("Name") == NETWORK_NAME]
    if not nets:
        return None
    nets.sort(key=lambda n: (n.get("Created", ""), n["Id"]))
    return str(nets[0]["Id"])


def forget_network() -> None:
    """Forget the network's id: the last home's reset removed it (it is made again)."""
    _ensure.cache_clear()


def network_info() -> dict[str, Any]:
    """The engine's inspect answer for podctl's network."""
    info: dict[str, Any] | None = engine_call("GET", f"/networks/{ensure_network()}",
                                              allow=(404,))
    if info is None:
        forget_network()
        info = engine_call("GET", f"/networks/{ensure_network()}")
    assert info is not None
    return info


def gateway_ip() -> str:
    """The host's address on the pod network: the node's IP as pods see it."""
    for cfg in (network_info().get("IPAM") or {}).get("Config") or []:
        if cfg.get("Gateway"):
            return str(cfg["Gateway"])
    return ""


def pod_subnet() -> str:
    """The IPv4 subnet of this block's engine's pod network: its node's pod CIDR."""
    for cfg in (network_info().get("IPAM") or {}).get("Config") or []:
        if cfg.get("Subnet") and ":" not in cfg["Subnet"]:
            return str(cfg["Subnet"])
    return ""
