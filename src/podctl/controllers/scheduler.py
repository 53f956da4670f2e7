"""The scheduler's predicate for one node: nodeSelector labels and free hostPorts."""

from __future__ import annotations

from podctl.api.meta import Obj

SCHEDULER = "default-scheduler"


def host_ports(pod: Obj) -> set[tuple[str, str, int]]:
    """(protocol, hostIP, hostPort) triples a pod asks for."""
    wanted = set()
    for container in pod["spec"].get("containers", []):
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                wanted.add((port.get("protocol", "TCP"), port.get("hostIP") or "0.0.0.0",
                            int(port["hostPort"])))
    return wanted


def _ports_clash(a: set[tuple[str, str, int]], b: set[tuple[str, str, int]]) -> bool:
    for proto, ip, port in a:
        for other_proto, other_ip, other_port in b:
            same_ip = ip == other_ip or "0.0.0.0" in (ip, other_ip)
            if proto == other_proto and port == other_port and same_ip:
                return True
    return False


def unschedulable_reason(pod: Obj, node: Obj, bound_pods: list[Obj]) -> str | None:
    """Why the pod cannot go on the node (the scheduler's per-node text), or None if it fits."""
    labels = node["metadata"].get("labels") or {}
    selector = pod["spec"].get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return "node(s) didn't match Pod's node affinity/selector"
    wanted = host_ports(pod)
    if wanted and any(_ports_clash(wanted, host_ports(p)) for p in bound_pods):
        return "node(s) didn't have free ports for the requested pod ports"
    return None


def failed_scheduling_message(reason: str) -> str:
    return (f"0/1 nodes are available: 1 {reason}. preemption: 0/1 nodes are available: "
            "1 Preemption is not helpful for scheduling.")


def assigned_message(pod: Obj, node_name: str) -> str:
    md = pod["metadata"]
    return f"Successfully assigned {md['namespace']}/{md['name']} to {node_name}"
