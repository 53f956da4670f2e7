"""The pod network's pure side: each node's routes and rules (proxy/podnet.py)."""

from __future__ import annotations

import ipaddress

from podctl.proxy import podnet
from podctl.proxy.podnet import NodeNet, Route
from podctl.runtime import podcidrs

HOST = NodeNet("host", "172.18.0.1", "172.18.0.0/16")
N2 = NodeNet("n2", "172.18.0.5", "10.244.7.0/24")
N3 = NodeNet("n3", "172.18.0.9", "10.244.200.0/24")
NODES = [HOST, N2, N3]
M = podnet.home_metric("home-a")


def test_host_routes_every_node_container_cidr_via_its_address() -> None:
    assert podnet.desired_routes(HOST, NODES, M) == [
        Route("10.244.7.0/24", "172.18.0.5", M), Route("10.244.200.0/24", "172.18.0.9", M)]


def test_a_node_routes_the_others_but_not_the_link_it_sits_on() -> None:
    # The host's pod CIDR is the bridge every node is on: reached directly, no route.
    assert podnet.desired_routes(N2, NODES, M) == [Route("10.244.200.0/24", "172.18.0.9", M)]


def test_nodes_not_known_yet_get_no_route() -> None:
    coming = [NodeNet("n4", "", "10.244.9.0/24"), NodeNet("n5", "172.18.0.7", ""),
              NodeNet("n6", "junk", "10.244.10.0/24")]
    assert podnet.desired_routes(HOST, [HOST, *coming], M) == []


def test_metrics_differ_between_homes_and_stay_put() -> None:
    assert podnet.home_metric("home-a") == M
    assert podnet.home_metric("home-b") != M
    assert podnet.home_metric("x") >= 1024


def test_parse_routes_reads_ip_route_show() -> None:
    text = ("10.244.7.0/24 via 172.18.0.5 dev br-d1e935eff1c3 metric 4242 \n"
            "10.244.9.0/24 via 172.18.0.6 dev br-d1e935eff1c3 metric 77 onlink\n"
            "blackhole 10.244.8.0/24\n"
            "10.244.1.0/24 dev eth0 scope link\n\n")
    assert podnet.parse_routes(text) == [Route("10.244.7.0/24", "172.18.0.5", 4242),
                                         Route("10.244.9.0/24", "172.18.0.6", 77)]


def test_a_route_without_metric_is_metric_zero() -> None:
    assert podnet.parse_routes("10.244.7.0/24 via 172.18.0.5 dev eth0") == [
        Route("10.244.7.0/24", "172.18.0.5", 0)]


def test_a_node_that_moved_gets_its_route_replaced() -> None:
    current = [Route("10.244.7.0/24", "172.18.0.4", M)]  # n2 came back with a new IP
    plan = podnet.plan_node(HOST, NODES, current, "home-a", None, host=True)
    assert plan.delete == (Route("10.244.7.0/24", "172.18.0.4", M),)
    assert plan.replace == (Route("10.244.7.0/24", "172.18.0.5", M),
                            Route("10.244.200.0/24", "172.18.0.9", M))
    commands = podnet.route_commands(plan)
    assert commands[0].startswith("/usr/bin/ip route del 10.244.7.0/24 via 172.18.0.4 "
                                  "proto 133")
    assert commands[1] == ("/usr/bin/ip route replace 10.244.7.0/24 via 172.18.0.5 "
                           f"proto 133 metric {M}")


def test_routes_in_place_are_left_alone() -> None:
    current = podnet.desired_routes(HOST, NODES, M)
    plan = podnet.plan_node(HOST, NODES, current, "home-a", None, host=True)
    assert plan.replace == () and plan.delete == () and plan.rules == ""


def test_a_deleted_nodes_route_goes() -> None:
    current = [*podnet.desired_routes(HOST, NODES, M), Route("10.244.3.0/24", "172.18.0.3", M)]
    plan = podnet.plan_node(HOST, NODES, current, "home-a", None, host=True)
    assert plan.delete == (Route("10.244.3.0/24", "172.18.0.3", M),)


def test_a_node_that_is_down_keeps_its_route_until_it_is_back_or_deleted() -> None:
    current = podnet.desired_routes(HOST, NODES, M)
    down = [HOST, NodeNet("n2", "", "10.244.7.0/24"), N3]
    plan = podnet.plan_node(HOST, down, current, "home-a", None, host=True)
    assert plan.delete == () and plan.replace == ()
    plan = podnet.plan_node(HOST, [HOST, N3], current, "home-a", None, host=True)
    assert plan.delete == (Route("10.244.7.0/24", "172.18.0.5", M),)


def test_other_homes_routes_stay_while_they_hold_their_cidr() -> None:
    other = podnet.home_metric("home-b")
    theirs = Route("10.244.50.0/24", "172.18.0.20", other)
    owners = {"10.244.50.0/24": other, "10.244.7.0/24": M, "10.244.200.0/24": M}
    plan = podnet.plan_node(HOST, NODES, [theirs], "home-a", owners, host=True)
    assert theirs not in plan.delete
    # Without the reservations read, another home's route is never touched.
    assert podnet.plan_node(HOST, NODES, [theirs], "home-a", None, host=True).delete == ()


def test_routes_of_gone_homes_go() -> None:
    gone = Route("10.244.60.0/24", "172.18.0.21", podnet.home_metric("home-gone"))
    # Its CIDR now held by a live home: the old route would shadow or confuse the new one.
    moved = Route("10.244.7.0/24", "172.18.0.22", podnet.home_metric("home-gone"))
    owners = {"10.244.7.0/24": M, "10.244.200.0/24": M}
    plan = podnet.plan_node(HOST, NODES, [gone, moved], "home-a", owners, host=True)
    assert set(plan.delete) == {gone, moved}


def test_node_container_rules_accept_pod_ranges_and_masquerade_the_rest() -> None:
    plan = podnet.plan_node(N2, NODES, [], "home-a", None, host=False,
                            service_cidr="10.96.0.0/12")
    assert plan.rules.splitlines() == [
        "*filter", ":PODCTL-PODNET - [0:0]",
        "-A PODCTL-PODNET -s 10.244.7.0/24 -d 10.244.7.0/24 -j ACCEPT",
        "-A PODCTL-PODNET -s 10.244.200.0/24 -d 10.244.7.0/24 -j ACCEPT",
        "-A PODCTL-PODNET -s 172.18.0.0/16 -d 10.244.7.0/24 -j ACCEPT",
        "COMMIT", "*nat", ":PODCTL-PODNET-MASQ - [0:0]",
        "-A PODCTL-PODNET-MASQ -d 10.244.7.0/24 -j RETURN",
        "-A PODCTL-PODNET-MASQ -d 10.244.200.0/24 -j RETURN",
        "-A PODCTL-PODNET-MASQ -d 172.18.0.0/16 -j RETURN",
        "-A PODCTL-PODNET-MASQ -d 10.96.0.0/12 -j RETURN",
        "-A PODCTL-PODNET-MASQ -j MASQUERADE", "COMMIT"]


def test_no_rules_without_a_cidr_of_its_own() -> None:
    assert podnet.render_rules("", ["10.244.7.0/24"]) == ""


def test_node_cidrs_are_24s_of_the_cluster_cidr() -> None:
    assert podcidrs.node_cidr(0) == ipaddress.IPv4Network("10.244.0.0/24")
    assert podcidrs.node_cidr(255) == ipaddress.IPv4Network("10.244.255.0/24")
    assert podcidrs.node_cidr(256) == podcidrs.node_cidr(0)
    starts = {podcidrs.first_index("home-a", f"n{i}") for i in range(20)}
    assert len(starts) > 10 and all(0 <= s < 256 for s in starts)
