"""From the command's arguments to what to forward, checked in kubectl's order: the pod,
its named and UDP ports, its phase, then the port pairs and the listen addresses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from podctl.errors import PodctlError
from podctl.portforward.ports import (
    ListenAddress,
    PortPair,
    named_ports_to_numbers,
    parse_addresses,
    parse_ports,
)
from podctl.portforward.target import (
    Endpoint,
    Follower,
    PodSource,
    ReplicaFollower,
    endpoint_of,
    follow,
    service_ports_to_target_ports,
)
from podctl.store import Store


@dataclass(frozen=True)
class Plan:
    follower: Follower
    endpoint: Endpoint | None
    pairs: list[PortPair]
    addresses: list[ListenAddress]


def plan(store: Store, pods: PodSource, namespace: str, resource: str,
         port_args: Sequence[str], address_args: Sequence[str], wait_seconds: float) -> Plan:
    """Resolve and validate a port-forward; every refusal is worded as kubectl's."""
    if not port_args:
        raise PodctlError("TYPE/NAME and list of ports are required for port-forward")
    follower, pod = follow(store, pods, namespace, resource, wait_seconds)
    if isinstance(follower, ReplicaFollower) and follower.kind == "Service":
        service = store.require("Service", namespace, resource.partition("/")[2])
        port_args = service_ports_to_target_ports(port_args, service, pod)
    specs = named_ports_to_numbers(port_args, pod)
    phase = pod["status"]["phase"]
    if phase != "Running":
        raise PodctlError("unable to forward port because pod is not running. "
                          f"Current status={phase}")
    return Plan(follower, endpoint_of(pod), parse_ports(specs), parse_addresses(address_args))
