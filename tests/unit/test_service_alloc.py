"""Service allocation (the ServiceIPAllocator admission plugin, through the registry):
cluster IPs from the home's /24, node ports, the `kubernetes` Service.

The range is reserved by a fake here (the real one is a Docker network: see the
integration tests); everything else runs against a real store."""

from __future__ import annotations

import ipaddress
import random
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from podctl import registry
from podctl.admission import Chain
from podctl.admission import serviceips as services
from podctl.admission.lifecycle import NamespaceLifecycle
from podctl.errors import Invalid
from podctl.manifest import check_document
from podctl.manifest.load import parse_text
from podctl.runtime import servicenet
from podctl.store import open_store
from podctl.store.db import Store

NET = ipaddress.IPv4Network("10.96.7.0/24")


def reserve() -> ipaddress.IPv4Network:
    return NET


def always_free(port: int, protocol: str) -> bool:
    return True


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path)


def service(name: str, extra: str = "", port_lines: str = "  - port: 80\n") -> dict[str, Any]:
    text = (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n{extra}"
            f"  ports:\n{port_lines}")
    checked = check_document(parse_text(text, "t.yaml").documents[0])
    assert checked.obj is not None, [str(p) for p in checked.problems]
    return checked.obj


def chain(store: Store, port_free: services.PortFree = always_free) -> Chain:
    allocator = services.ServiceIPAllocator(lambda: services.service_network(store, reserve),
                                            port_free)
    return Chain([NamespaceLifecycle(), allocator])


def create(store: Store, obj: dict[str, Any],
           port_free: services.PortFree = always_free) -> dict[str, Any]:
    return registry.create(store, obj, chain=chain(store, port_free))


def test_the_kubernetes_service_takes_the_first_address(store: Store) -> None:
    create(store, service("kubia"))
    kube = store.require("Service", "default", "kubernetes")
    assert kube["spec"]["clusterIP"] == "10.96.7.1"
    assert kube["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP",
                                      "targetPort": 6443}]
    assert "selector" not in kube["spec"]
    assert kube["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}


def test_random_cluster_ips_avoid_the_static_band_and_each_other(store: Store) -> None:
    ips = {create(store, service(f"s{i}"))["spec"]["clusterIP"] for i in range(40)}
    assert len(ips) == 40
    hosts = {int(ipaddress.ip_address(ip)) - int(NET.network_address) for ip in ips}
    assert min(hosts) >= 16 and max(hosts) < 254


def test_a_requested_cluster_ip_is_kept(store: Store) -> None:
    created = create(store, service("dns", "  clusterIP: 10.96.7.10\n"))
    assert created["spec"]["clusterIPs"] == ["10.96.7.10"]


def test_a_taken_cluster_ip_is_refused(store: Store) -> None:
    with pytest.raises(Invalid) as caught:
        create(store, service("kubia", "  clusterIP: 10.96.7.1\n"))
    assert str(caught.value) == (
        'The Service "kubia" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.7.1"}: '
        "failed to allocate IP 10.96.7.1: provided IP is already allocated")
    assert store.get("Service", "default", "kubia") is None


def test_a_cluster_ip_outside_the_range_is_refused(store: Store) -> None:
    with pytest.raises(Invalid, match=r"the provided IP \(1\.1\.1\.1\) is not in the valid "
                                      r"range\. The range of valid IPs is 10\.96\.7\.0/24$"):
        create(store, service("kubia", "  clusterIP: 1.1.1.1\n"))


def test_headless_and_external_name_get_no_ip(store: Store) -> None:
    headless = create(store, service("h", "  clusterIP: None\n"))
    assert headless["spec"]["clusterIPs"] == ["None"]
    text = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\nspec:\n"
            "  type: ExternalName\n  externalName: example.com\n")
    ext = check_document(parse_text(text, "t.yaml").documents[0]).obj
    assert ext is not None
    assert "clusterIP" not in create(store, ext)["spec"]


def test_node_ports_are_random_outside_the_static_band(store: Store) -> None:
    created = create(store, service("np", "  type: NodePort\n",
                                    "  - name: a\n    port: 80\n  - name: b\n    port: 443\n"))
    ports = [p["nodePort"] for p in created["spec"]["ports"]]
    assert len(set(ports)) == 2
    assert all(30086 <= p <= 32767 for p in ports)


def test_a_requested_node_port_out_of_range_is_refused(store: Store) -> None:
    with pytest.raises(Invalid) as caught:
        create(store, service("np", "  type: NodePort\n", "  - port: 80\n    nodePort: 29999\n"))
    assert str(caught.value) == (
        'The Service "np" is invalid: spec.ports[0].nodePort: Invalid value: 29999: provided '
        "port is not in the valid range. The range of valid ports is 30000-32767")


def test_a_node_port_taken_in_the_home_is_refused(store: Store) -> None:
    create(store, service("a", "  type: NodePort\n", "  - port: 80\n    nodePort: 30080\n"))
    with pytest.raises(Invalid, match=r"spec\.ports\[0\]\.nodePort: Invalid value: 30080: "
                                      r"provided port is already allocated$"):
        create(store, service("b", "  type: NodePort\n", "  - port: 80\n    nodePort: 30080\n"))


def test_a_node_port_held_on_the_host_is_refused(store: Store) -> None:
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert not services.host_port_free(port, "TCP")
    taken = {30100}
    with pytest.raises(Invalid, match="provided port is already allocated"):
        create(store, service("b", "  type: NodePort\n", "  - port: 80\n    nodePort: 30100\n"),
               lambda port, protocol: port not in taken)


def test_random_node_ports_skip_ports_held_on_the_host() -> None:
    picked = services._pick_node_port("TCP", set(), lambda p, _: p % 2 == 0, random.Random(1))
    assert picked is not None and picked % 2 == 0


def test_parallel_creates_never_share_an_ip(store: Store, tmp_path: Path) -> None:
    create(store, service("first"))
    results: list[str] = []

    def worker(index: int) -> None:
        own = open_store(tmp_path)
        for j in range(10):
            created = create(own, service(f"w{index}-{j}"))
            results.append(created["spec"]["clusterIP"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 40 and len(set(results)) == 40


def test_homes_start_their_search_at_different_blocks() -> None:
    starts = {servicenet.first_block(f"home{i}") for i in range(20)}
    assert len(starts) > 15
    assert servicenet.block(0) == ipaddress.IPv4Network("10.96.0.0/24")
    assert servicenet.block(4095) == ipaddress.IPv4Network("10.111.255.0/24")


def update(store: Store, existing: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    assert (desired["kind"], desired["metadata"]["name"]) == ("Service", existing["metadata"][
        "name"])
    return registry.update(store, desired, chain=chain(store))


def test_an_update_keeps_the_cluster_ip_it_leaves_out(store: Store) -> None:
    stored = create(store, service("web"))
    updated = update(store, stored, service("web", port_lines="  - port: 81\n"))
    assert updated["spec"]["clusterIP"] == stored["spec"]["clusterIP"]
    assert updated["spec"]["clusterIPs"] == stored["spec"]["clusterIPs"]
    assert [p["port"] for p in updated["spec"]["ports"]] == [81]


def test_the_cluster_ip_may_not_change_once_set(store: Store) -> None:
    stored = create(store, service("web"))
    with pytest.raises(Invalid) as err:
        update(store, stored, service("web", "  clusterIP: 10.96.7.77\n"))
    assert str(err.value) == ('The Service "web" is invalid: spec.clusterIPs[0]: Invalid '
                              'value: []string{"10.96.7.77"}: may not change once set')


def test_an_update_keeps_node_ports_of_the_ports_that_stay(store: Store) -> None:
    stored = create(store, service("web", "  type: NodePort\n"))
    held = stored["spec"]["ports"][0]["nodePort"]
    two = service("web", "  type: NodePort\n",
                  "  - {name: a, port: 80}\n  - {name: b, port: 90}\n")
    updated = update(store, stored, two)
    ports = updated["spec"]["ports"]
    assert ports[0]["nodePort"] == held
    assert ports[1]["nodePort"] not in (None, held)
    back = update(store, updated, service("web"))
    assert "nodePort" not in back["spec"]["ports"][0] and back["spec"]["type"] == "ClusterIP"
