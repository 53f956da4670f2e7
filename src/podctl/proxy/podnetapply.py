"""Carries out a node's pod-network plan (proxy/podnet.py) inside its network agent, the
hostNetwork `kindnet` system pod on that node, through `docker exec` on the node's engine
(the caller picks the engine with runtime.engines): podctl never runs ip or iptables
itself."""

from __future__ import annotations

import shlex

from podctl.proxy import podnet
from podctl.proxy.apply import backend, exec_in, restore
from podctl.proxy.podnet import NodePlan, Route


class AgentError(RuntimeError):
    """A command in the network agent failed."""


def current_routes(container_id: str) -> list[Route]:
    """podctl's routes in the node's table (every home's, on the host)."""
    code, out, err = exec_in(container_id, [podnet.IP, "-4", "route", "show", "proto",
                                            str(podnet.ROUTE_PROTO)])
    if code != 0:
        raise AgentError(f"reading routes failed (exit {code}): {err.strip()}")
    return podnet.parse_routes(out)


def apply(container_id: str, plan: NodePlan, own_cidr: str) -> None:
    """Routes first (each tried: one unreachable gateway must not keep the others out),
    then a node container's chains and their jumps (added once, first in their chain)."""
    commands = podnet.route_commands(plan)
    if commands:
        script = "failed=0\n" + "".join(f"{c} || failed=1\n" for c in commands) + \
            "exit $failed\n"
        code, out, err = exec_in(container_id, ["sh", "-c", script])
        if code != 0:
            raise AgentError(f"routes: {err.strip() or out.strip()}")
    if not plan.rules:
        return
    variant = backend(container_id)
    restore(container_id, variant, plan.rules)
    ipt = f"iptables-{variant}"
    own = shlex.quote(own_cidr)
    # From FORWARD itself, not DOCKER-USER: a node's dockerd without a default bridge
    # makes DOCKER-USER only when a network is created, not when it restarts.
    jumps = (f"{ipt} -w -C FORWARD -j {podnet.FORWARD_CHAIN} 2>/dev/null || "
             f"{ipt} -w -I FORWARD 1 -j {podnet.FORWARD_CHAIN}\n"
             f"{ipt} -w -t nat -C POSTROUTING -s {own} -j {podnet.MASQ_CHAIN} 2>/dev/null || "
             f"{ipt} -w -t nat -I POSTROUTING 1 -s {own} -j {podnet.MASQ_CHAIN}\n")
    code, out, err = exec_in(container_id, ["sh", "-ec", jumps])
    if code != 0:
        raise AgentError(f"jumps: {err.strip() or out.strip()}")


def remove_routes(container_id: str, metric: int) -> int:
    """A home's routes out of the node's table (the home is being reset); how many."""
    mine = [r for r in current_routes(container_id) if r.metric == metric]
    apply(container_id, NodePlan((), tuple(mine), ""), "")
    return len(mine)
