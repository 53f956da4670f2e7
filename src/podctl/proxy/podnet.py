"""One flat pod network across nodes, host-gw style (kindnet's, flannel's host-gw): what the
network agent on each node installs, as pure functions of the nodes.

Every node is on one link (the host's `podctl` bridge: node containers are attached to it,
and the host is its gateway), so a route `<podCIDR> via <nodeIP>` on every other node is
all it takes to carry pod traffic unNATed between nodes. A node container's pod bridge has
Docker's masquerade off (the server must see the client's pod IP); the agent masquerades
only traffic leaving the cluster's pod ranges, as kindnet's ip-masq-agent does. Docker
accepts into a pod bridge only replies and published ports (the FORWARD chain's policy may
be DROP), so traffic from other nodes' pods is accepted first in FORWARD.

The routes carry a protocol of podctl's own (ROUTE_PROTO) and a metric per home: several
homes write routes into the host's table, and a home removes only its own, plus routes
that no live reservation backs (a home reset or killed without its agent's clean-up).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# iproute2's ip in the agent's image (busybox's sh would run its own applet for `ip`).
IP = "/usr/bin/ip"
# The routing protocol number on podctl's routes (rt_protos: unassigned; any 0-255 works).
ROUTE_PROTO = 133
# Filter chain jumped to first from FORWARD, nat chain from POSTROUTING (node containers).
FORWARD_CHAIN = "PODCTL-PODNET"
MASQ_CHAIN = "PODCTL-PODNET-MASQ"
_METRIC_BASE = 1024
_METRIC_SPAN = 1 << 24


@dataclass(frozen=True)
class NodeNet:
    """A node as the pod network sees it: its name, its address on the shared link and
    its pod CIDR (either may be unknown while the node comes up)."""

    name: str
    address: str
    pod_cidr: str


@dataclass(frozen=True)
class Route:
    dst: str
    via: str
    metric: int


@dataclass(frozen=True)
class NodePlan:
    """What one node's agent does in one sync."""

    replace: tuple[Route, ...]
    delete: tuple[Route, ...]
    rules: str  # iptables-restore --noflush payload; empty on the host's node


def home_metric(homeid: str) -> int:
    """The metric a home's routes carry: how a home tells its routes from another's."""
    digest = int(hashlib.sha256(homeid.encode()).hexdigest(), 16)
    return _METRIC_BASE + digest % _METRIC_SPAN


def _network(cidr: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(cidr)
    except ValueError:
        return None


def _address(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


def desired_routes(me: NodeNet, nodes: Iterable[NodeNet], metric: int) -> list[Route]:
    """`<podCIDR> via <nodeIP>` for every other node whose address and CIDR are known,
    except a CIDR the node itself sits in (the host's pod network is the shared link:
    it is reached directly)."""
    mine = _address(me.address)
    routes = []
    for node in nodes:
        net, via = _network(node.pod_cidr), _address(node.address)
        if node.name == me.name or net is None or via is None:
            continue
        if mine is not None and mine in net:
            continue
        routes.append(Route(str(net), str(via), metric))
    return sorted(routes, key=lambda r: (ipaddress.IPv4Network(r.dst), r.metric))


def parse_routes(text: str) -> list[Route]:
    """`ip -4 route show proto ROUTE_PROTO` output: `DST via GW dev DEV metric M ...`."""
    found = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or words[1] != "via":
            continue
        fields = dict(zip(words[1::2], words[2::2], strict=False))
        net, via = _network(words[0]), _address(fields.get("via", ""))
        metric = fields.get("metric", "0")
        if net is None or via is None or not metric.isdigit():
            continue
        found.append(Route(str(net), str(via), int(metric)))
    return found


def stale_routes(current: Iterable[Route], desired: Iterable[Route], metric: int,
                 owners: Mapping[str, int] | None,
                 held: Iterable[str] = ()) -> list[Route]:
    """The routes of ours to delete: this home's that are not desired, and (when `owners`,
    the metric of the home that holds each reserved CIDR, is known) any podctl route to a
    CIDR that nobody holds or another home holds under another metric: left by a home
    that is gone, and wrong for whoever holds the CIDR now. This home's routes to `held`
    CIDRs stay (a node that is down keeps its route until it is back or deleted)."""
    wanted = set(desired)
    kept = set(held)
    stale = []
    for route in current:
        if route in wanted or (route.metric == metric and route.dst in kept):
            continue
        if route.metric == metric or (owners is not None and owners.get(route.dst) != route.metric):
            stale.append(route)
    return stale


def render_rules(own_cidr: str, cluster_cidrs: Iterable[str], service_cidr: str = "") -> str:
    """A node container's iptables-restore --noflush payload: pod traffic from any pod
    range into this node's pods accepted before Docker's FORWARD rules, and masquerade for
    this node's pods only towards what is neither a pod range nor a Service's cluster IP
    (kube-proxy on the host handles those: its DNAT's replies must come back through it,
    which its own masquerade of sources off the host's pod network makes sure of). The
    chains are declared, so each restore replaces their content; the jumps are added by
    the script (once)."""
    ranges = sorted({str(n) for n in map(_network, cluster_cidrs) if n is not None},
                    key=ipaddress.IPv4Network)
    own = _network(own_cidr)
    if own is None:
        return ""
    unmasqueraded = [*ranges, *([str(n)] if (n := _network(service_cidr)) else [])]
    lines = ["*filter", f":{FORWARD_CHAIN} - [0:0]"]
    lines += [f"-A {FORWARD_CHAIN} -s {cidr} -d {own} -j ACCEPT" for cidr in ranges]
    lines += ["COMMIT", "*nat", f":{MASQ_CHAIN} - [0:0]"]
    lines += [f"-A {MASQ_CHAIN} -d {cidr} -j RETURN" for cidr in unmasqueraded]
    lines += [f"-A {MASQ_CHAIN} -j MASQUERADE", "COMMIT"]
    return "\n".join(lines) + "\n"


def plan_node(me: NodeNet, nodes: list[NodeNet], current: Iterable[Route], homeid: str,
              owners: Mapping[str, int] | None, host: bool,
              service_cidr: str = "") -> NodePlan:
    """One node's sync: its routes to every other node, the stale ones to delete, and on
    a node container its rules (the host's pod network is Docker's own, masquerade and
    all: its pods' traffic to other nodes leaves on the bridge it came from, which Docker
    neither drops nor masquerades)."""
    metric = home_metric(homeid)
    desired = desired_routes(me, nodes, metric)
    current = list(current)
    replace = tuple(r for r in desired if r not in current)
    down = {str(n) for node in nodes if not node.address
            and (n := _network(node.pod_cidr)) is not None}
    delete = tuple(stale_routes(current, desired, metric, owners, down))
    rules = "" if host else render_rules(me.pod_cidr, (n.pod_cidr for n in nodes),
                                         service_cidr)
    return NodePlan(replace, delete, rules)


def route_commands(plan: NodePlan) -> list[str]:
    """The `ip route` commands of a plan, deletions first (a CIDR may move between
    nodes: its new route must not be removed with the old)."""
    deletes = [f"{IP} route del {r.dst} via {r.via} proto {ROUTE_PROTO} metric {r.metric}"
               for r in plan.delete]
    replaces = [f"{IP} route replace {r.dst} via {r.via} proto {ROUTE_PROTO} metric {r.metric}"
                for r in plan.replace]
    return deletes + replaces
