"""The pod sandbox: one pause container owning the pod's network, IPC and UTS namespaces."""

from __future__ import annotations

import os
from typing import Any

from podctl.api.meta import Obj
from podctl.runtime import naming
from podctl.runtime.client import docker_api, translate_errors
from podctl.runtime.images import image_present
from podctl.runtime.network import NETWORK_NAME, ensure_network

DEFAULT_PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
# What `make images` builds from images/pause: used when the default image is absent, so
# that an offline machine works without configuration.
LOCAL_PAUSE_IMAGE = "podctl/pause:1.0"


def pause_image() -> str:
    """PODCTL_PAUSE_IMAGE, else the kubelet's default, else the locally built one if only
    that one is present (checked without pulling)."""
    explicit = os.environ.get("PODCTL_PAUSE_IMAGE")
    if explicit:
        return explicit

    if image_present(DEFAULT_PAUSE_IMAGE) is None and image_present(LOCAL_PAUSE_IMAGE):
        return LOCAL_PAUSE_IMAGE
    return DEFAULT_PAUSE_IMAGE


def pod_hostname(pod: Obj) -> str:
    """spec.hostname, else the pod name cut to 63 characters without a trailing - or ."""
    name = pod["spec"].get("hostname") or pod["metadata"]["name"]
    return str(name)[:63].rstrip("-.")


def host_port_bindings(pod: Obj) -> dict[str, list[tuple[str, int]]]:
    """Docker port bindings for every container port that asks for a hostPort."""
    bindings: dict[str, list[tuple[str, int]]] = {}
    for container in pod["spec"].get("containers", []):
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                key = f"{port['containerPort']}/{port.get('protocol', 'TCP').lower()}"
                bindings.setdefault(key, []).append(
                    (port.get("hostIP") or "0.0.0.0", int(port["hostPort"]))
                )
    return bindings


def create_sandbox(pod: Obj, attempt: int, image: str) -> str:
    """Create (not start) the pause container; returns its id.

    With hostNetwork the sandbox shares the host's network (and name): no pod network,
    no published ports (a hostPort is the port itself).
    """
    api = docker_api()
    spec = pod["spec"]
    host_network = bool(spec.get("hostNetwork"))
    network_id = None if host_network else ensure_network()
    bindings = {} if host_network else host_port_bindings(pod)
    host_config = api.create_host_config(
        network_mode="host" if host_network else network_id,
        ipc_mode="host" if spec.get("hostIPC") else "shareable",
        pid_mode="host" if spec.get("hostPID") else None,
        port_bindings=bindings or None,
        cpu_shares=2,
        init=False,
    )
    networking = (None if network_id is None else
                  api.create_networking_config({network_id: api.create_endpoint_config()}))
    with translate_errors():
        created: dict[str, Any] = api.create_container(
            image=image,
            name=naming.sandbox_name(pod, attempt),
            hostname=None if host_network else pod_hostname(pod),
            labels=naming.sandbox_labels(pod, attempt),
            ports=[tuple(k.split("/")) for k in bindings] or None,
            host_config=host_config,
            networking_config=networking,
            stop_signal="SIGTERM",
        )
    return str(created["Id"])


def sandbox_ip(sandbox_id: str) -> str:
    with translate_errors():
        info = docker_api().inspect_container(sandbox_id)
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    if NETWORK_NAME in networks:
        return str(networks[NETWORK_NAME].get("IPAddress") or "")
    return next((str(n["IPAddress"]) for n in networks.values() if n.get("IPAddress")), "")
