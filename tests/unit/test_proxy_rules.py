"""proxy.rules and proxy.dns: the rendered iptables-restore and dnsmasq text."""

from __future__ import annotations

from podctl.proxy.dns import DnsEndpoint, DnsPort, DnsService, render_dns
from podctl.proxy.rules import (
    Endpoint,
    ServicePort,
    homes,
    homes_touching,
    owned_lines,
    port_key,
    render,
    render_removal,
    render_removals,
    sep_chain,
    svc_chain,
)

HOME = "abcd12340a"
A = Endpoint("172.18.0.5", 8080)
B = Endpoint("172.18.0.6", 8080)
KUBIA = ServicePort(port_key("default", "kubia"), "10.96.7.20", 80, endpoints=(B, A))


def lines(text: str, table: str) -> list[str]:
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("*"):
            inside = line == f"*{table}"
        elif inside:
            out.append(line)
    return out


def test_chain_names_fit_iptables_and_carry_the_home() -> None:
    svc = svc_chain(HOME, KUBIA)
    sep = sep_chain(HOME, KUBIA, A)
    assert svc.startswith("PODCTL-abcd12340a-SVC-") and len(svc) == 28
    assert sep.startswith("PODCTL-abcd12340a-SEP-") and len(sep) == 28
    assert sep != sep_chain(HOME, KUBIA, B)
    assert svc != svc_chain("ffff000000", KUBIA)[:len(svc)]


def test_port_key_is_kube_proxys_service_port_name() -> None:
    assert port_key("default", "kubia") == "default/kubia"
    assert port_key("default", "kubia", "http") == "default/kubia:http"


def test_spreading_is_uniform_and_ordered_by_endpoint() -> None:
    nat = lines(render(HOME, [KUBIA], pod_cidr="172.18.0.0/16"), "nat")
    svc = svc_chain(HOME, KUBIA)
    spread = [x for x in nat if x.startswith(f"-A {svc} -m comment")]
    assert spread == [
        f'-A {svc} -m comment --comment "default/kubia -> 172.18.0.5:8080" -m statistic '
        f"--mode random --probability 0.5000000000 -j {sep_chain(HOME, KUBIA, A)}",
        f'-A {svc} -m comment --comment "default/kubia -> 172.18.0.6:8080" '
        f"-j {sep_chain(HOME, KUBIA, B)}",
    ]
    three = ServicePort("default/x", "10.96.7.21", 80,
                        endpoints=(A, B, Endpoint("172.18.0.7", 8080)))
    text = render(HOME, [three])
    assert "--probability 0.3333333333" in text and "--probability 0.5000000000" in text


def test_cluster_ip_dnat_hairpin_and_off_cluster_masquerade() -> None:
    nat = lines(render(HOME, [KUBIA], pod_cidr="172.18.0.0/16"), "nat")
    svc, sep = svc_chain(HOME, KUBIA), sep_chain(HOME, KUBIA, A)
    assert (f'-A PODCTL-{HOME}-SERVICES -d 10.96.7.20/32 -p tcp -m comment --comment '
            f'"default/kubia cluster IP" -m tcp --dport 80 -j {svc}') in nat
    assert (f'-A {svc} ! -s 172.18.0.0/16 -d 10.96.7.20/32 -p tcp -m comment --comment '
            f'"default/kubia cluster IP" -m tcp --dport 80 -j PODCTL-{HOME}-MARK-MASQ') in nat
    assert (f'-A {sep} -s 172.18.0.5/32 -m comment --comment "default/kubia" '
            f"-j PODCTL-{HOME}-MARK-MASQ") in nat
    assert (f'-A {sep} -p tcp -m comment --comment "default/kubia" -m tcp '
            f"-j DNAT --to-destination 172.18.0.5:8080") in nat
    assert f"-A PODCTL-{HOME}-MARK-MASQ -j MARK --or-mark 0x20000" in nat
    assert nat[-2:] == [f"-A PODCTL-{HOME}-POSTRTG -m comment --comment "
                        f'"podctl service traffic requiring SNAT" -j MASQUERADE', "COMMIT"]


def test_without_pod_cidr_everything_to_a_cluster_ip_is_masqueraded() -> None:
    nat = lines(render(HOME, [KUBIA]), "nat")
    assert any(x.startswith(f"-A {svc_chain(HOME, KUBIA)} -d 10.96.7.20/32") for x in nat)
    assert not any("! -s" in x for x in nat)


def test_nodeport_is_last_in_services_and_marks_for_masquerade() -> None:
    np = ServicePort("default/np:web", "10.96.7.30", 80, node_port=30080, endpoints=(A,))
    nat = lines(render(HOME, [np, KUBIA]), "nat")
    services = [x for x in nat if x.startswith(f"-A PODCTL-{HOME}-SERVICES ")]
    assert services[-1] == (f"-A PODCTL-{HOME}-SERVICES -m addrtype --dst-type LOCAL -m "
                            f'comment --comment "podctl service nodeports; must be the last '
                            f'rule" -j PODCTL-{HOME}-NODEPORTS')
    ext = svc_chain(HOME, np).replace("-SVC-", "-EXT-")
    assert (f'-A PODCTL-{HOME}-NODEPORTS -p tcp -m comment --comment "default/np:web" '
            f"-m tcp --dport 30080 -j {ext}") in nat
    assert nat.index(f"-A {ext} -j {svc_chain(HOME, np)}") > nat.index(
        f'-A {ext} -m comment --comment "masquerade traffic for default/np:web external '
        f'destinations" -j PODCTL-{HOME}-MARK-MASQ')


def test_client_ip_affinity_checks_recent_before_spreading_and_sets_it_on_dnat() -> None:
    sticky = ServicePort("default/s", "10.96.7.40", 80, affinity_timeout=10800,
                         endpoints=(A, B))
    nat = lines(render(HOME, [sticky]), "nat")
    svc, sep_a = svc_chain(HOME, sticky), sep_chain(HOME, sticky, A)
    svc_rules = [x for x in nat if x.startswith(f"-A {svc} -m comment")]
    assert svc_rules[0] == (f'-A {svc} -m comment --comment "default/s -> 172.18.0.5:8080" '
                            f"-m recent --name {sep_a} --mask 255.255.255.255 --rsource "
                            f"--rcheck --seconds 10800 --reap -j {sep_a}")
    assert "statistic" in svc_rules[2] and "statistic" not in svc_rules[1]
    assert (f'-A {sep_a} -p tcp -m comment --comment "default/s" -m tcp -m recent --name '
            f"{sep_a} --mask 255.255.255.255 --rsource --set -j DNAT --to-destination "
            f"172.18.0.5:8080") in nat


def test_a_service_without_endpoints_is_rejected_in_filter_and_not_dnated() -> None:
    empty = ServicePort("default/empty", "10.96.7.50", 80, protocol="UDP", node_port=30090)
    text = render(HOME, [empty])
    filt = lines(text, "filter")
    assert (f"-A PODCTL-{HOME}-SERVICES -d 10.96.7.50/32 -p udp -m comment --comment "
            f'"default/empty has no endpoints" -m udp --dport 80 -j REJECT --reject-with '
            f"icmp-port-unreachable") in filt
    assert any("--dst-type LOCAL" in x and "--dport 30090 -j REJECT" in x for x in filt)
    assert "10.96.7.50" not in "\n".join(lines(text, "nat"))


def test_jumps_are_inserted_first_and_only_when_missing() -> None:
    first = render(HOME, [KUBIA])
    inserts = [x for x in first.splitlines() if x.startswith("-I ")]
    assert sorted(x.split()[1] for x in inserts) == [
        "FORWARD", "FORWARD", "INPUT", "OUTPUT", "OUTPUT", "POSTROUTING", "PREROUTING"]
    assert all(x.split()[2] == "1" for x in inserts)
    # What iptables-save prints once they are in (its own option order).
    saved = "\n".join(
        ["*filter", ":INPUT ACCEPT [0:0]"]
        + [f"-A {x.split(' ', 3)[1]} {x.split(' ', 3)[3]}" for x in inserts
           if "conntrack" in x or "forwarding" in x]
        + ["COMMIT", "*nat"]
        + [f"-A {x.split(' ', 3)[1]} {x.split(' ', 3)[3]}" for x in inserts
           if "conntrack" not in x and "forwarding" not in x]
        + ["COMMIT"])
    assert not [x for x in render(HOME, [KUBIA], saved).splitlines() if x.startswith("-I ")]


def test_other_homes_and_docker_are_left_alone_and_stale_chains_deleted() -> None:
    old_sep = sep_chain(HOME, KUBIA, Endpoint("172.18.0.99", 8080))
    saved = ("*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n"
             f":PODCTL-ffff0000-SERVICES - [0:0]\n:{old_sep} - [0:0]\n"
             "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
             "-A PREROUTING -j PODCTL-ffff0000-SERVICES\nCOMMIT\n")
    text = render(HOME, [KUBIA], saved)
    assert f"-X {old_sep}" in text and f":{old_sep} - [0:0]" in text
    assert "ffff0000" not in text and "DOCKER" not in text


def test_render_is_deterministic() -> None:
    other = ServicePort("default/a", "10.96.7.60", 81, endpoints=(A,))
    assert render(HOME, [KUBIA, other]) == render(HOME, [other, KUBIA])


def test_removal_deletes_this_homes_jumps_and_chains_only() -> None:
    saved = (
        "*filter\n:INPUT ACCEPT [0:0]\n:PODCTL-abcd12340a-SERVICES - [0:0]\n"
        ":PODCTL-ffff0000-SERVICES - [0:0]\n"
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "podctl abcd1234 service '
        'portals" -j PODCTL-abcd12340a-SERVICES\n'
        "-A INPUT -j PODCTL-ffff0000-SERVICES\n"
        "-A PODCTL-abcd12340a-SERVICES -d 10.96.7.50/32 -j REJECT\nCOMMIT\n"
        "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DOCKER\nCOMMIT\n")
    assert render_removal(HOME, saved) == (
        "*filter\n"
        '-D INPUT -m conntrack --ctstate NEW -m comment --comment "podctl abcd1234 service '
        'portals" -j PODCTL-abcd12340a-SERVICES\n'
        ":PODCTL-abcd12340a-SERVICES - [0:0]\n-X PODCTL-abcd12340a-SERVICES\nCOMMIT\n")
    assert render_removal("99999999", saved) == ""
    assert len(owned_lines(HOME, saved)) == 3


def test_dns_records_for_cluster_ip_headless_and_named_ports() -> None:
    kubia = DnsService("default", "kubia", "10.96.7.20",
                       ports=(DnsPort("http", "TCP", 80), DnsPort("", "TCP", 81)))
    headless = DnsService("default", "db", None, ports=(DnsPort("pg", "TCP", 5432),),
                          endpoints=(DnsEndpoint("172.18.0.6", "db-0", (("pg", 6432),)),
                                     DnsEndpoint("172.18.0.5")))
    files = render_dns([kubia, headless])
    assert files.hosts == (
        "172.18.0.5 172-18-0-5.db.default.svc.cluster.local db.default.svc.cluster.local\n"
        "172.18.0.6 db-0.db.default.svc.cluster.local db.default.svc.cluster.local\n"
        "10.96.7.20 kubia.default.svc.cluster.local\n")
    conf = files.conf.splitlines()
    assert "local=/cluster.local/" in conf and "local-ttl=5" in conf
    assert "no-resolv" not in conf
    assert [x for x in conf if x.startswith("srv-host=")] == [
        "srv-host=_pg._tcp.db.default.svc.cluster.local,"
        "172-18-0-5.db.default.svc.cluster.local,5432,0,100",
        "srv-host=_pg._tcp.db.default.svc.cluster.local,"
        "db-0.db.default.svc.cluster.local,6432,0,100",
        "srv-host=_http._tcp.kubia.default.svc.cluster.local,"
        "kubia.default.svc.cluster.local,80,0,100",
    ]


def test_dns_upstreams_replace_the_pods_resolv_conf() -> None:
    conf = render_dns([], upstreams=["192.0.2.53"]).conf.splitlines()
    assert conf[-2:] == ["no-resolv", "server=192.0.2.53"]


def test_an_external_name_service_is_a_cname_to_its_target() -> None:
    alias = DnsService("default", "alias", None, external_name="kubia.default.svc.cluster.local.")
    files = render_dns([alias])
    assert "cname=alias.default.svc.cluster.local,kubia.default.svc.cluster.local,5" in \
        files.conf.splitlines()
    assert files.hosts == ""


DEAD_HOME_SAVE = (
    "*filter\n:INPUT ACCEPT [0:0]\n:PODCTL-dead000001-SERVICES - [0:0]\n"
    ":PODCTL-abcd12340a-SERVICES - [0:0]\n"
    "-A INPUT -m conntrack --ctstate NEW -j PODCTL-dead000001-SERVICES\n"
    "-A INPUT -m conntrack --ctstate NEW -j PODCTL-abcd12340a-SERVICES\n"
    "-A PODCTL-dead000001-SERVICES -d 10.96.7.50/32 -p tcp -j REJECT\n"
    "-A PODCTL-abcd12340a-SERVICES -d 10.96.8.50/32 -p tcp -j REJECT\nCOMMIT\n"
    "*nat\n:PREROUTING ACCEPT [0:0]\n:PODCTL-dead000001-SERVICES - [0:0]\n"
    ":PODCTL-dead000001-SEP-X - [0:0]\n:PODCTL-beef000002-SERVICES - [0:0]\n"
    "-A PREROUTING -j PODCTL-dead000001-SERVICES\n"
    "-A PREROUTING -j PODCTL-beef000002-SERVICES\n"
    "-A PODCTL-dead000001-SEP-X -p tcp -j DNAT --to-destination 172.18.0.9:8080\n"
    "-A PODCTL-beef000002-SERVICES -d 10.96.70.1/32 -j RETURN\nCOMMIT\n")


def test_the_homes_holding_rules_for_a_range_are_found_by_their_destinations() -> None:
    import ipaddress

    assert homes(DEAD_HOME_SAVE) == {"dead000001", "abcd12340a", "beef000002"}
    range7 = ipaddress.IPv4Network("10.96.7.0/24")
    assert homes_touching(DEAD_HOME_SAVE, range7) == {"dead000001"}
    # 10.96.70.1 is not in 10.96.7.0/24: a prefix of the text is not a match.
    assert homes_touching(DEAD_HOME_SAVE, ipaddress.IPv4Network("10.96.9.0/24")) == set()


def test_removal_of_several_homes_leaves_the_others() -> None:
    text = render_removals(["dead000001", "beef000002"], DEAD_HOME_SAVE)
    assert "abcd12340a" not in text
    assert "-D PREROUTING -j PODCTL-dead000001-SERVICES" in text
    assert "-D PREROUTING -j PODCTL-beef000002-SERVICES" in text
    assert "-X PODCTL-dead000001-SEP-X" in text and "-X PODCTL-beef000002-SERVICES" in text
    assert render_removals([], DEAD_HOME_SAVE) == ""
