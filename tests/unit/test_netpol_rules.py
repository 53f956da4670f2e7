"""NetworkPolicy enforcement's rules (proxy/netpol.py): which pods are isolated, what each
isolated pod's chain lets through, and the chain bookkeeping in the filter table."""

from __future__ import annotations

from typing import Any

from podctl.printers.networking import describe_netpol, netpol_row
from podctl.proxy import netpol

HOME = "abcdef0123"
Obj = dict[str, Any]


def pod(name: str, ip: str, labels: dict[str, str], ns: str = "default", node: str = "n1",
        ports: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": ports or []}]},
            "status": {"podIP": ip, "phase": "Running"}}


def policy(name: str, spec: Obj, ns: str = "default") -> Obj:
    spec.setdefault("policyTypes", ["Ingress"])
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


NAMESPACES = [{"metadata": {"name": n, "labels": {"kubernetes.io/metadata.name": n, **extra}}}
              for n, extra in (("default", {}), ("other", {"team": "a"}),
                               ("kube-system", {}))]
PODS = [pod("web", "10.0.0.2", {"app": "web"}, ports=[{"name": "http", "containerPort": 8080}]),
        pod("client", "10.0.0.3", {"role": "client"}),
        pod("stranger", "10.0.0.4", {"role": "other"}),
        pod("far", "10.0.1.5", {"role": "client"}, node="n2"),
        pod("theirs", "10.0.2.6", {"role": "x"}, ns="other", node="n2"),
        pod("dns", "10.0.0.10", {"k8s-app": "kube-dns"}, ns="kube-system")]


def chain_lines(payload: str, ip: str, direction: str) -> list[str]:
    chain = netpol.pod_chain(HOME, direction, ip)
    return [line for line in payload.splitlines() if line.startswith(f"-A {chain} ")]


def test_no_policy_isolates_nobody_and_the_jump_comes_first() -> None:
    payload = netpol.render(HOME, [], PODS, NAMESPACES, "n1")
    assert f"-A {netpol.main_chain(HOME)}" not in payload
    assert f"-I FORWARD 1 -m comment --comment \"podctl {HOME} network policies\" " \
           f"-j {netpol.main_chain(HOME)}" in payload
    saved = f"*filter\n:{netpol.main_chain(HOME)} - [0:0]\n-A {netpol.jump(HOME)}\n" \
            "-A FORWARD -j DOCKER-USER\nCOMMIT\n"
    assert "-I FORWARD" not in netpol.render(HOME, [], PODS, NAMESPACES, "n1", saved)
    later = "*filter\n-A FORWARD -j DOCKER-USER\n-A " + netpol.jump(HOME) + "\nCOMMIT\n"
    moved = netpol.render(HOME, [], PODS, NAMESPACES, "n1", later)
    assert f"-D {netpol.jump(HOME)}" in moved and "-I FORWARD 1" in moved


def test_default_deny_then_a_label_selected_allow() -> None:
    deny = policy("deny", {"podSelector": {}})
    payload = netpol.render(HOME, [deny], PODS, NAMESPACES, "n1")
    web = chain_lines(payload, "10.0.0.2", "I")
    assert web[-1].endswith("-j DROP") and len(web) == 1
    # Established and related first; egress untouched (no Egress policy).
    main = [line for line in payload.splitlines()
            if line.startswith(f"-A {netpol.main_chain(HOME)} ")]
    assert "RELATED,ESTABLISHED" in main[0]
    assert not chain_lines(payload, "10.0.0.3", "E")
    # Pods of other nodes get their rules on their node; pods of other namespaces none.
    assert not chain_lines(payload, "10.0.1.5", "I")
    allow = policy("allow", {"podSelector": {"matchLabels": {"app": "web"}},
                             "ingress": [{"from": [{"podSelector": {"matchLabels":
                                                                    {"role": "client"}}}],
                                          "ports": [{"port": "http", "protocol": "TCP"}]}]})
    web = chain_lines(netpol.render(HOME, [deny, allow], PODS, NAMESPACES, "n1"),
                      "10.0.0.2", "I")
    assert web == [
        f"-A {netpol.pod_chain(HOME, 'I', '10.0.0.2')} -s 10.0.0.3/32 -p tcp -m tcp "
        "--dport 8080 -j RETURN",
        f"-A {netpol.pod_chain(HOME, 'I', '10.0.0.2')} -s 10.0.1.5/32 -p tcp -m tcp "
        "--dport 8080 -j RETURN",
        f'-A {netpol.pod_chain(HOME, "I", "10.0.0.2")} -m comment --comment '
        '"default/web ingress not allowed" -j DROP']


def test_namespace_selector_ipblock_except_and_port_ranges() -> None:
    spec = {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}},
                                  {"ipBlock": {"cidr": "192.168.0.0/16",
                                               "except": ["192.168.1.0/24"]}}],
                         "ports": [{"port": 8000, "endPort": 8100, "protocol": "UDP"}]}]}
    web = chain_lines(netpol.render(HOME, [policy("p", spec)], PODS, NAMESPACES, "n1",
                                    kubelet_ip="172.18.0.1"), "10.0.0.2", "I")
    sources = [line.split(" -s ")[1].split()[0] for line in web if " -s " in line]
    assert sources[0] == "172.18.0.1/32"  # the kubelet's probes
    assert "10.0.2.6/32" in sources and "192.168.1.0/24" not in sources
    assert "192.168.0.0/24" in sources and "192.168.128.0/17" in sources
    assert all("-p udp -m udp --dport 8000:8100" in line for line in web[1:-1])


def test_egress_deny_blocks_dns_unless_allowed() -> None:
    deny = policy("deny-out", {"podSelector": {}, "policyTypes": ["Egress"]})
    client = chain_lines(netpol.render(HOME, [deny], PODS, NAMESPACES, "n1"), "10.0.0.3", "E")
    assert len(client) == 1 and client[0].endswith("-j DROP")
    dns = policy("dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
         "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]})
    client = chain_lines(netpol.render(HOME, [deny, dns], PODS, NAMESPACES, "n1"),
                         "10.0.0.3", "E")
    assert [line.split(f"{netpol.pod_chain(HOME, 'E', '10.0.0.3')} ")[1] for line in client[:2]] \
        == ["-d 10.0.0.10/32 -p udp -m udp --dport 53 -j RETURN",
            "-d 10.0.0.10/32 -p tcp -m tcp --dport 53 -j RETURN"]


def test_stale_chains_go_and_kube_proxy_leaves_them() -> None:
    from podctl.proxy import rules

    old = netpol.pod_chain(HOME, "I", "10.9.9.9")
    saved = f"*filter\n:{old} - [0:0]\n:{netpol.main_chain(HOME)} - [0:0]\nCOMMIT\n"
    assert f"-X {old}" in netpol.render(HOME, [], PODS, NAMESPACES, "n1", saved)
    assert old not in rules.render(HOME, [], saved)


def test_get_and_describe_as_kubectl() -> None:
    obj = policy("p", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                       "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8",
                                                          "except": ["10.1.0.0/16"]}}],
                                    "ports": [{"port": 80, "protocol": "TCP"},
                                              {"port": 8000, "endPort": 8080,
                                               "protocol": "TCP"}]},
                                   {}],
                       "egress": []})
    obj["metadata"]["creationTimestamp"] = "2026-01-02T03:04:05Z"
    assert netpol_row(obj, __import__("datetime").datetime(2026, 1, 2, 3, 5, 5,
                                      tzinfo=__import__("datetime").UTC), False) == \
        ["p", "<none>", "60s"]
    text = describe_netpol(obj)
    assert text.splitlines()[5:] == [
        "Spec:",
        "  PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)",
        "  Allowing ingress traffic:",
        "    To Port: 80/TCP",
        "    To Port Range: 8000-8080/TCP",
        "    From:",
        "      IPBlock:",
        "        CIDR: 10.0.0.0/8",
        "        Except: 10.1.0.0/16",
        "    ----------",
        "    To Port: <any> (traffic allowed to all ports)",
        "    From: <any> (traffic not restricted by source)",
        "  Allowing egress traffic:",
        "    <none> (Selected pods are isolated for egress connectivity)",
        "  Policy Types: Ingress, Egress"]
