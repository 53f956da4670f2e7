"""NetworkPolicy enforcement on one node, as iptables-restore text for its filter table.

Pure: a function of the policies, pods and namespaces of the home, the node the rules are
for and what `iptables-save -t filter` prints there now. As Calico and Cilium judge it:
- a pod selected by a policy whose policyTypes has Ingress (Egress) is isolated for
  ingress (egress); what is not allowed by some policy selecting it is dropped, and pods
  no policy selects are untouched;
- ingress is judged on the destination pod's node, egress on the source pod's node, each
  in FORWARD (pod traffic between pods, and between nodes, is forwarded there), after
  kube-proxy's DNAT: a Service's traffic is judged on the pod it reaches;
- replies and related packets of allowed connections pass (conntrack), so an allowed
  connection's answers need no rule of their own, and a connection already set up stays;
- DNS is an egress to the kube-dns pod like any other: denied unless a policy allows it;
- the kubelet's probes come from `kubelet_ip` (the host, on node containers), always let in,
  as CNIs let in the node's own traffic.

Chains: PODCTL-<home>-NETPOL (jumped to first from FORWARD) sends each isolated pod's
packets to its own chain, which RETURNs what is allowed and DROPs the rest.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from podctl.api.labels import selector_from_label_selector
from podctl.proxy.rules import CHAIN_MAX, POLICY_CHAINS, Saved, parse_save, prefix

Obj = dict[str, Any]
Net = ipaddress.IPv4Network
# Peers and ports of one rule expand into (peer CIDR x port) lines: bounded, so that a
# hostile policy cannot make a payload the kernel takes minutes over.
MAX_LINES_PER_POD = 20000


def main_chain(homeid: str) -> str:
    return prefix(homeid) + POLICY_CHAINS[0]


def _own(homeid: str) -> str:
    return prefix(homeid) + POLICY_CHAINS[1]


def pod_chain(homeid: str, direction: str, pod_ip: str) -> str:
    digest = base64.b32encode(hashlib.sha256(pod_ip.encode()).digest()).decode()
    name = f"{_own(homeid)}{direction}-"
    return name + digest[:CHAIN_MAX - len(name)]


def is_own_chain(homeid: str, chain: str) -> bool:
    """A chain of this renderer (kube-proxy's renderer leaves them alone)."""
    return chain == main_chain(homeid) or chain.startswith(_own(homeid))


def jump(homeid: str) -> str:
    return (f'FORWARD -m comment --comment "podctl {homeid} network policies" '
            f"-j {main_chain(homeid)}")


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    ip: str
    node: str
    labels: Mapping[str, str]
    ports: tuple[tuple[str, str, int], ...]  # (name, protocol, containerPort)


def pod_info(pod: Obj) -> PodInfo | None:
    """A pod as policies see it: one with a pod IP of its own (not hostNetwork), not done."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ip = status.get("podIP")
    if not ip or spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    md = pod.get("metadata") or {}
    ports = tuple((str(p["name"]), str(p.get("protocol") or "TCP"), int(p["containerPort"]))
                  for c in spec.get("containers") or [] for p in c.get("ports") or []
                  if p.get("name") and p.get("containerPort"))
    return PodInfo(str(md.get("namespace", "")), str(md.get("name", "")), str(ip),
                   str(spec.get("nodeName") or ""), dict(md.get("labels") or {}), ports)


def _matches(selector: Any, labels: Mapping[str, str]) -> bool:
    try:
        return selector_from_label_selector(selector or {}).matches(labels)
    except ValueError:  # an invalid selector (validation refuses it) selects nothing
        return False


def _cidrs(block: Obj) -> list[Net]:
    """ipBlock: its CIDR less its exceptions, as disjoint networks (IPv4 only here)."""
    try:
        keep = [ipaddress.IPv4Network(block.get("cidr", ""), strict=False)]
    except ValueError:
        return []
    for text in block.get("except") or []:
        try:
            cut = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            continue
        keep = [part for net in keep
                for part in ([net] if not net.overlaps(cut) else
                             [] if net.subnet_of(cut) else net.address_exclude(cut))]
    return sorted(keep)


@dataclass(frozen=True)
class _Port:
    protocol: str
    port: str  # "" for every port, "N" or "N:M"


def _ports(rule: Obj, target: PodInfo | None) -> list[_Port] | None:
    """A rule's ports for traffic to `target` (named ports are looked up on it); [] when
    none applies, None for every port."""
    ports = rule.get("ports") or []
    if not ports:
        return None
    out = []
    for p in ports:
        proto = str(p.get("protocol") or "TCP")
        number, end = p.get("port"), p.get("endPort")
        if number is None:
            out.append(_Port(proto, ""))
        elif isinstance(number, str):
            found = [n for name, protocol, n in (target.ports if target else ())
                     if name == number and protocol == proto]
            out += [_Port(proto, str(n)) for n in found[:1]]
        else:
            out.append(_Port(proto, f"{number}:{end}" if isinstance(end, int) else str(number)))
    return out


class _Cluster:
    def __init__(self, pods: Iterable[PodInfo], namespaces: Iterable[Obj]) -> None:
        self.pods = sorted(pods, key=lambda p: (p.namespace, p.name))
        self.ns_labels = {str(n["metadata"]["name"]): dict(n["metadata"].get("labels") or {})
                          for n in namespaces}

    def peers(self, peer: Obj, home_ns: str) -> tuple[list[PodInfo], list[Net]]:
        """The pods (and networks) a peer names, from a policy in `home_ns`."""
        if "ipBlock" in peer and peer["ipBlock"] is not None:
            return [], _cidrs(peer["ipBlock"])
        pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
        found = []
        for pod in self.pods:
            if ns_sel is not None:
                labels = self.ns_labels.get(pod.namespace, {"kubernetes.io/metadata.name":
                                                            pod.namespace})
                if not _matches(ns_sel, labels):
                    continue
            elif pod.namespace != home_ns:
                continue
            if pod_sel is not None and not _matches(pod_sel, pod.labels):
                continue
            found.append(pod)
        return found, []


def _port_match(port: _Port) -> str:
    proto = port.protocol.lower()
    return f"-p {proto}" + (f" -m {proto} --dport {port.port}" if port.port else "")


def _allow_lines(chain: str, side: str, peers: list[tuple[str, PodInfo | None]] | None,
                 ports: Iterable[_Port] | None) -> list[str]:
    """RETURN lines: `side` is -s (ingress: who sends) or -d (egress: who receives)."""
    out = []
    for addr, _ in peers if peers is not None else [("", None)]:
        where = f"{side} {addr} " if addr else ""
        if ports is None:
            out.append(f"-A {chain} {where}-j RETURN")
        else:
            out += [f"-A {chain} {where}{_port_match(p)} -j RETURN" for p in ports]
    return out


def _pod_rules(homeid: str, direction: str, pod: PodInfo, policies: list[Obj],
               cluster: _Cluster, always: Iterable[str]) -> tuple[str, list[str]]:
    chain = pod_chain(homeid, "I" if direction == "ingress" else "E", pod.ip)
    lines = [f"-A {chain} -s {ip}/32 -j RETURN" for ip in always]
    peers_field = "from" if direction == "ingress" else "to"
    side = "-s" if direction == "ingress" else "-d"
    for policy in policies:
        home_ns = str(policy["metadata"].get("namespace", ""))
        for rule in (policy.get("spec") or {}).get(direction) or []:
            if not rule.get(peers_field):
                targets: list[tuple[str, PodInfo | None]] | None = None
                named = [p for p in rule.get("ports") or [] if isinstance(p.get("port"), str)]
                if direction == "egress" and named:
                    # A named port to anywhere: each pod that names it is a destination.
                    targets = [(f"{p.ip}/32", p) for p in cluster.pods]
                    lines += _per_target(chain, side, rule, targets, pod, direction)
                    continue
                lines += _allow_lines(chain, side, targets, _ports(rule, pod))
                continue
            for peer in rule.get(peers_field) or []:
                pods, nets = cluster.peers(peer, home_ns)
                targets = [(f"{p.ip}/32", p) for p in pods] + [(str(n), None) for n in nets]
                lines += _per_target(chain, side, rule, targets, pod, direction)
        if len(lines) > MAX_LINES_PER_POD:
            break
    lines = lines[:MAX_LINES_PER_POD]
    lines.append(f'-A {chain} -m comment --comment "{pod.namespace}/{pod.name} {direction} '
                 f'not allowed" -j DROP')
    return chain, lines


def _per_target(chain: str, side: str, rule: Obj, targets: list[tuple[str, PodInfo | None]],
                pod: PodInfo, direction: str) -> list[str]:
    """Ingress ports name the selected pod's ports; egress ports the destination's."""
    if direction == "ingress":
        return _allow_lines(chain, side, targets, _ports(rule, pod))
    out = []
    for target in targets:
        out += _allow_lines(chain, side, [target], _ports(rule, target[1]))
    return out


def _isolating(policies: list[Obj], pod: PodInfo, direction: str) -> list[Obj]:
    kind = direction.capitalize()
    return [p for p in policies
            if p["metadata"].get("namespace") == pod.namespace
            and kind in ((p.get("spec") or {}).get("policyTypes") or [])
            and _matches((p.get("spec") or {}).get("podSelector"), pod.labels)]


def render(homeid: str, policies: Iterable[Obj], pods: Iterable[Obj],
           namespaces: Iterable[Obj], node: str, saved_text: str = "",
           kubelet_ip: str = "") -> str:
    """The filter-table payload for `node`: its isolated pods' chains, the main chain, the
    jump (first in FORWARD, moved there if something went before it), and this renderer's
    chains no longer wanted deleted."""
    infos = [i for i in map(pod_info, pods) if i is not None]
    cluster = _Cluster(infos, namespaces)
    wanted = sorted(policies, key=lambda p: (p["metadata"].get("namespace", ""),
                                             p["metadata"].get("name", "")))
    main = main_chain(homeid)
    chains = [main]
    rules: list[str] = []
    dispatch: list[str] = []
    always = [kubelet_ip] if kubelet_ip else []
    for pod in (p for p in cluster.pods if p.node == node):
        for direction, side in (("egress", "-s"), ("ingress", "-d")):
            selecting = _isolating(wanted, pod, direction)
            if not selecting:
                continue
            chain, lines = _pod_rules(homeid, direction, pod, selecting, cluster,
                                      always if direction == "ingress" else ())
            chains.append(chain)
            rules += lines
            dispatch.append(f"-A {main} {side} {pod.ip}/32 -j {chain}")
    head = [f"-A {main} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"] if dispatch \
        else []
    saved = parse_save(saved_text)
    return _table(homeid, chains, head + dispatch + rules, saved)


def _table(homeid: str, chains: list[str], rules: list[str], saved: Saved) -> str:
    stale = sorted(ch for ch in saved.chains.get("filter", set())
                   if is_own_chain(homeid, ch) and ch not in chains)
    own_jump = jump(homeid)
    lines = ["*filter", *(f":{ch} - [0:0]" for ch in chains + stale)]
    # First in FORWARD: kube-proxy's and Docker's ACCEPTs must not come before the policy.
    forward = [r for r in saved.rules.get("filter", []) if r.startswith("FORWARD ")]
    if not forward or main_chain(homeid) not in forward[0]:
        lines += [f"-D {r}" for r in forward if r.endswith(f"-j {main_chain(homeid)}")]
        lines.append(f"-I {own_jump.split(' ', 1)[0]} 1 {own_jump.split(' ', 1)[1]}")
    lines += rules
    lines += [f"-X {ch}" for ch in stale]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"
