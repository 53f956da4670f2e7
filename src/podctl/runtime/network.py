"""The Docker network pods live on: created on demand, labelled as podctl's own."""

from __future__ import annotations

import json
from functools import cache

from podctl.runtime import naming
from podctl.runtime.client import docker_api, engine_call, translate_errors

NETWORK_NAME = "podctl"


@cache
def ensure_network() -> str:
    """The id of podctl's bridge network, creating it if missing."""
    found = _find()
    if found:
        return found
    api = docker_api()
    with translate_errors():
        import docker.errors

        try:
            api.create_network(
                NETWORK_NAME, driver="bridge", check_duplicate=True,
                labels={naming.NETWORK_LABEL: "true"},
            )
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise
        found = _find()
        if not found:
            raise RuntimeError(f"network {NETWORK_NAME} vanished after creation")
        return found


def _find() -> str | None:
    """Oldest network with our name: concurrent creators may race and make two."""
    listed = engine_call("GET", "/networks", {"filters": json.dumps({"name": [NETWORK_NAME]})})
    nets = [n for n in listed if n.get("Name") == NETWORK_NAME]
    if not nets:
        return None
    nets.sort(key=lambda n: (n.get("Created", ""), n["Id"]))
    return str(nets[0]["Id"])


def gateway_ip() -> str:
    """The host's address on the pod network: the node's IP as pods see it."""
    api = docker_api()
    with translate_errors():
        info = api.inspect_network(ensure_network())
    for cfg in (info.get("IPAM") or {}).get("Config") or []:
        if cfg.get("Gateway"):
            return str(cfg["Gateway"])
    return ""
