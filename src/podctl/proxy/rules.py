"""kube-proxy's iptables rules for one podctl home, as iptables-restore text.

Pure: the caller passes what `iptables-save -t nat` and `-t filter` print now, and gets
the one payload that, run with `iptables-restore --noflush`, makes this home's chains
exactly match the services given (every chain it declares is flushed and refilled; chains
of this home that are no longer wanted are deleted; jumps from the built-in chains are
inserted only when missing). Nothing outside this home's chains and jumps is touched, so
homes sharing an engine never disturb each other or Docker.

The design is kube-proxy's (pkg/proxy/iptables): a SERVICES chain matches each cluster
IP:port and jumps to a per-service SVC chain, which spreads new connections uniformly
over per-endpoint SEP chains with `statistic --mode random`, each DNATing to one pod.
Hairpin (a pod reaching itself) and traffic from outside the pod network is marked and
masqueraded; NodePorts match any local destination address. A service without endpoints
is rejected in the filter table so that clients see "connection refused" at once.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

# A bit of its own: not kube-proxy's masquerade (0x4000) or drop (0x8000) bits, so that a
# real kube-proxy on the same host would not mix its marks with podctl's.
MASQ_MARK = "0x20000"
CHAIN_MAX = 28  # XT_EXTENSION_MAXNAMELEN - 1
# The network policies' chains of a home (proxy/netpol.py keeps them, in the same table).
POLICY_CHAINS = ("NETPOL", "NP")


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, with the endpoints (ready addresses) it spreads over.

    `name` is port_key(namespace, service, port name): the chain hashes and the rule
    comments are made from it, as kube-proxy makes them.
    """

    name: str
    cluster_ip: str
    port: int
    protocol: str = "TCP"
    node_port: int | None = None
    affinity_timeout: int | None = None  # sessionAffinity ClientIP: timeoutSeconds
    endpoints: tuple[Endpoint, ...] = ()

    @property
    def has_endpoints(self) -> bool:
        return bool(self.endpoints)


def port_key(namespace: str, service: str, port_name: str = "") -> str:
    """kube-proxy's "ns/svc:port" naming of a service port ("ns/svc" when unnamed)."""
    return f"{namespace}/{service}" + (f":{port_name}" if port_name else "")


def prefix(homeid: str) -> str:
    """Every chain of a home starts with this; no other home's chains do."""
    return f"PODCTL-{homeid}-"


def _chain(homeid: str, kind: str, key: str) -> str:
    digest = base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()
    name = f"{prefix(homeid)}{kind}-"
    return name + digest[:CHAIN_MAX - len(name)]


def svc_chain(homeid: str, sp: ServicePort) -> str:
    return _chain(homeid, "SVC", sp.name + sp.protocol.lower())


def ext_chain(homeid: str, sp: ServicePort) -> str:
    return _chain(homeid, "EXT", sp.name + sp.protocol.lower())


def sep_chain(homeid: str, sp: ServicePort, ep: Endpoint) -> str:
    return _chain(homeid, "SEP", f"{sp.name}{sp.protocol.lower()}{ep.ip}:{ep.port}")


def fixed_chains(homeid: str) -> dict[str, str]:
    p = prefix(homeid)
    return {"services": p + "SERVICES", "nodeports": p + "NODEPORTS",
            "mark": p + "MARK-MASQ", "post": p + "POSTRTG", "forward": p + "FORWARD"}


def jumps(homeid: str) -> dict[str, list[str]]:
    """The rules (without -A/-I and chain) that hook this home into the built-in chains."""
    c = fixed_chains(homeid)
    new = "-m conntrack --ctstate NEW"
    return {
        "nat": [f"PREROUTING -m comment --comment \"podctl {homeid} service portals\" "
                f"-j {c['services']}",
                f"OUTPUT -m comment --comment \"podctl {homeid} service portals\" "
                f"-j {c['services']}",
                f"POSTROUTING -m comment --comment \"podctl {homeid} postrouting rules\" "
                f"-j {c['post']}"],
        "filter": [f"INPUT {new} -m comment --comment \"podctl {homeid} service portals\" "
                   f"-j {c['services']}",
                   f"FORWARD {new} -m comment --comment \"podctl {homeid} service portals\" "
                   f"-j {c['services']}",
                   f"FORWARD -m comment --comment \"podctl {homeid} forwarding rules\" "
                   f"-j {c['forward']}",
                   f"OUTPUT {new} -m comment --comment \"podctl {homeid} service portals\" "
                   f"-j {c['services']}"],
    }


@dataclass(frozen=True)
class Saved:
    """What iptables-save printed, per table: chain names and rule lines."""

    chains: dict[str, set[str]]
    rules: dict[str, list[str]]


def parse_save(text: str) -> Saved:
    chains: dict[str, set[str]] = {}
    rules: dict[str, list[str]] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
            chains.setdefault(table, set())
            rules.setdefault(table, [])
        elif line.startswith(":") and table:
            chains[table].add(line[1:].split()[0])
        elif line.startswith("-A ") and table:
            rules[table].append(line[3:])
    return Saved(chains, rules)


def _normal(rule: str) -> str:
    # iptables-save prints matches in its own order and quoting; compare on the parts
    # that matter here: the chain, the comment text and the target.
    return " ".join(sorted(re.findall(r'"[^"]*"|\S+', rule)))


def _missing_jumps(homeid: str, table: str, saved: Saved) -> list[str]:
    present = {_normal(r) for r in saved.rules.get(table, [])}
    return [f"-I {j.split(' ', 1)[0]} 1 {j.split(' ', 1)[1]}" for j in jumps(homeid)[table]
            if _normal(j) not in present]


def _comment(text: str) -> str:
    return f'-m comment --comment "{text}"'


def _proto(sp: ServicePort) -> str:
    return f"-p {sp.protocol.lower()}"


def _dport(sp: ServicePort, port: int) -> str:
    p = sp.protocol.lower()
    return f"-m {p} --dport {port}"


def render(homeid: str, services: Iterable[ServicePort], saved_text: str = "",
           pod_cidr: str | None = None) -> str:
    """The iptables-restore payload (filter, then nat) for this home's services.

    `saved_text` is the current iptables-save output of both tables (jumps already there
    are not added twice; this home's chains not rendered now are deleted). `pod_cidr` is
    the pod network: traffic to a cluster IP from anywhere else is masqueraded, as
    kube-proxy's --cluster-cidr does. None masquerades all of it (kube-proxy's
    --masquerade-all), which is what a bridge without br_netfilter needs.
    """
    ports = sorted(services, key=lambda s: (s.name, s.protocol, s.cluster_ip, s.port))
    saved = parse_save(saved_text)
    c = fixed_chains(homeid)
    return (_filter(homeid, ports, saved, c) + _nat(homeid, ports, saved, pod_cidr, c))


def _table(name: str, homeid: str, chains: list[str], rules: list[str], saved: Saved) -> str:
    own = prefix(homeid)
    stale = sorted(ch for ch in saved.chains.get(name, set())
                   if ch.startswith(own) and ch not in chains
                   and not ch[len(own):].startswith(POLICY_CHAINS))
    lines = [f"*{name}"]
    lines += [f":{ch} - [0:0]" for ch in chains + stale]
    lines += _missing_jumps(homeid, name, saved)
    lines += rules
    lines += [f"-X {ch}" for ch in stale]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _filter(homeid: str, ports: list[ServicePort], saved: Saved, c: dict[str, str]) -> str:
    rules = []
    for sp in ports:
        if sp.has_endpoints:
            continue
        reject = "-j REJECT --reject-with icmp-port-unreachable"
        rules.append(f"-A {c['services']} -d {sp.cluster_ip}/32 {_proto(sp)} "
                     f"{_comment(sp.name + ' has no endpoints')} {_dport(sp, sp.port)} {reject}")
        if sp.node_port:
            rules.append(f"-A {c['services']} -m addrtype --dst-type LOCAL {_proto(sp)} "
                         f"{_comment(sp.name + ' has no endpoints')} {_dport(sp, sp.node_port)} "
                         f"{reject}")
    # Packets DNATed for a NodePort come from outside the pod bridge, which Docker's
    # FORWARD rules would drop; they carry the mark, like kube-proxy's KUBE-FORWARD.
    rules += [
        f"-A {c['forward']} -m conntrack --ctstate INVALID -j DROP",
        f"-A {c['forward']} -m mark --mark {MASQ_MARK}/{MASQ_MARK} "
        f"{_comment('podctl forwarding rules')} -j ACCEPT",
        f"-A {c['forward']} -m conntrack --ctstate RELATED,ESTABLISHED "
        f"{_comment('podctl forwarding conntrack rule')} -j ACCEPT",
    ]
    return _table("filter", homeid, [c["services"], c["forward"]], rules, saved)


def _nat(homeid: str, ports: list[ServicePort], saved: Saved, pod_cidr: str | None,
         c: dict[str, str]) -> str:
    chains = [c["services"], c["nodeports"], c["mark"], c["post"]]
    rules = []
    per_service: list[str] = []
    nodeports: list[str] = []
    for sp in ports:
        if not sp.has_endpoints:
            continue
        svc = svc_chain(homeid, sp)
        chains.append(svc)
        rules.append(f"-A {c['services']} -d {sp.cluster_ip}/32 {_proto(sp)} "
                     f"{_comment(sp.name + ' cluster IP')} {_dport(sp, sp.port)} -j {svc}")
        source = "" if pod_cidr is None else f"! -s {pod_cidr} "
        per_service.append(f"-A {svc} {source}-d {sp.cluster_ip}/32 {_proto(sp)} "
                           f"{_comment(sp.name + ' cluster IP')} {_dport(sp, sp.port)} "
                           f"-j {c['mark']}")
        if sp.node_port:
            ext = ext_chain(homeid, sp)
            chains.append(ext)
            nodeports.append(f"-A {c['nodeports']} {_proto(sp)} "
                             f"{_comment(sp.name)} {_dport(sp, sp.node_port)} -j {ext}")
            external = f"masquerade traffic for {sp.name} external destinations"
            per_service.append(f"-A {ext} {_comment(external)} -j {c['mark']}")
            per_service.append(f"-A {ext} -j {svc}")
        seps = [(ep, sep_chain(homeid, sp, ep))
                for ep in sorted(sp.endpoints, key=lambda e: (e.ip, e.port))]
        chains += [sep for _, sep in seps]
        if sp.affinity_timeout is not None:
            per_service += [f"-A {svc} {_comment(sp.name + ' -> ' + f'{ep.ip}:{ep.port}')} "
                            f"-m recent --name {sep} --mask 255.255.255.255 --rsource "
                            f"--rcheck --seconds {sp.affinity_timeout} --reap -j {sep}"
                            for ep, sep in seps]
        n = len(seps)
        for i, (ep, sep) in enumerate(seps):
            spread = (f"-m statistic --mode random --probability {1 / (n - i):0.10f} "
                      if i < n - 1 else "")
            per_service.append(f"-A {svc} {_comment(sp.name + ' -> ' + f'{ep.ip}:{ep.port}')} "
                               f"{spread}-j {sep}")
            recent = ("" if sp.affinity_timeout is None
                      else f"-m recent --name {sep} --mask 255.255.255.255 --rsource --set ")
            # Hairpin: a pod reaching itself must be masqueraded, or it answers itself
            # directly and the reply never meets the DNAT it should undo.
            per_service.append(f"-A {sep} -s {ep.ip}/32 {_comment(sp.name)} -j {c['mark']}")
            per_service.append(f"-A {sep} {_proto(sp)} {_comment(sp.name)} "
                               f"-m {sp.protocol.lower()} {recent}"
                               f"-j DNAT --to-destination {ep.ip}:{ep.port}")
    # Last, as in kube-proxy: any local destination address may be a NodePort.
    rules.append(f"-A {c['services']} -m addrtype --dst-type LOCAL "
                 f"{_comment('podctl service nodeports; must be the last rule')} "
                 f"-j {c['nodeports']}")
    rules += nodeports
    rules += per_service
    rules += [
        f"-A {c['mark']} -j MARK --or-mark {MASQ_MARK}",
        f"-A {c['post']} -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN",
        f"-A {c['post']} -j MARK --xor-mark {MASQ_MARK}",
        f"-A {c['post']} {_comment('podctl service traffic requiring SNAT')} -j MASQUERADE",
    ]
    return _table("nat", homeid, chains, rules, saved)


def render_removal(homeid: str, saved_text: str) -> str:
    """The payload that deletes every jump to, and every chain of, this home."""
    return render_removals([homeid], saved_text)


def render_removals(homeids: Iterable[str], saved_text: str) -> str:
    """The payload that deletes every jump to, and every chain of, these homes."""
    saved = parse_save(saved_text)
    owns = tuple(prefix(h) for h in sorted(set(homeids)))
    if not owns:
        return ""
    theirs = re.compile("-j (?:" + "|".join(re.escape(o) for o in owns) + r")\S+$")
    out = []
    for table in ("filter", "nat"):
        chains = sorted(ch for ch in saved.chains.get(table, set()) if ch.startswith(owns))
        deletes = [f"-D {r}" for r in saved.rules.get(table, [])
                   if not r.startswith(owns) and theirs.search(r)]
        if not chains and not deletes:
            continue
        out.append(f"*{table}")
        out += deletes
        out += [f":{ch} - [0:0]" for ch in chains]
        out += [f"-X {ch}" for ch in chains]
        out.append("COMMIT")
    return "\n".join(out) + "\n" if out else ""


_HOME_CHAIN = re.compile(r"^PODCTL-([0-9a-f]+)-")
_DESTINATION = re.compile(r"(?:^|\s)-d (\d+\.\d+\.\d+\.\d+)(?:/32)?(?:\s|$)")


def homes(saved_text: str) -> set[str]:
    """The id of every home with a chain in this iptables-save output."""
    saved = parse_save(saved_text)
    return {m[1] for chains in saved.chains.values() for ch in chains
            if (m := _HOME_CHAIN.match(ch))}


def homes_touching(saved_text: str, network: ipaddress.IPv4Network) -> set[str]:
    """The homes whose chains match destinations in `network` (a service range): once
    another home holds that range, their rules would catch its cluster IPs."""
    saved = parse_save(saved_text)
    found = set()
    for rules in saved.rules.values():
        for rule in rules:
            home = _HOME_CHAIN.match(rule)
            if home is None or home[1] in found:
                continue
            if any(ipaddress.IPv4Address(ip) in network for ip in _DESTINATION.findall(rule)):
                found.add(home[1])
    return found


def owned_lines(homeid: str, saved_text: str) -> list[str]:
    """The lines of an iptables-save output that belong to this home (chains or jumps)."""
    own = prefix(homeid)
    return [line for line in saved_text.splitlines() if own in line]
