"""The Service data plane on the real engine, without Service objects: kube-proxy and DNS
system pods, rules for made-up services applied through them, traffic from the host and
from pods.

Every run uses its own home id and service addresses, and removes its rules and pods.
"""

from __future__ import annotations

import random
import socket
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from podctl.proxy import apply, dns, rules
from podctl.runtime import sandbox
from tests.session import track_home

from .conftest import (
    BUSYBOX_IMAGE,
    PAUSE_IMAGE,
    Podctl,
    remove_home,
    remove_pod_leftovers,
)

KUBIA = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: kubia}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {{name: kubia, image: podctl/kubia:1}}
"""

SYSTEM = """
apiVersion: v1
kind: Pod
metadata: {{name: kube-proxy-{sfx}, namespace: kube-system}}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: kube-proxy
    image: podctl/kube-proxy:1
    securityContext:
      capabilities: {{add: [NET_ADMIN, SYS_ADMIN]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: dns-{sfx}, namespace: kube-system}}
spec:
  dnsPolicy: Default
  terminationGracePeriodSeconds: 1
  containers:
  - {{name: dnsmasq, image: podctl/dns:1}}
"""


@dataclass
class Plane:
    podctl: Podctl
    homeid: str
    proxy: str  # the kube-proxy container
    dns: str  # the dnsmasq container
    a: str  # kubia pod names and IPs
    b: str
    ip_a: str
    ip_b: str
    vip: str  # fake: both pods; node port below
    vip_a: str  # only-a: pod a alone
    vip_empty: str  # no endpoints
    vip_sticky: str  # ClientIP affinity
    vip_dns: str
    node_port: int
    client: str  # an app container in a sandbox made with the cluster DNS settings
    network: apply.PodNetwork

    def services(self) -> list[rules.ServicePort]:
        both = (rules.Endpoint(self.ip_a, 8080), rules.Endpoint(self.ip_b, 8080))
        dns_ip = self.podctl.pod_json(f"dns-{self.homeid}", "kube-system")["status"]["podIP"]
        return [
            rules.ServicePort("default/fake", self.vip, 80, node_port=self.node_port,
                              endpoints=both),
            rules.ServicePort("default/only-a", self.vip_a, 80,
                              endpoints=(rules.Endpoint(self.ip_a, 8080),)),
            rules.ServicePort("default/empty", self.vip_empty, 80, node_port=None),
            rules.ServicePort("default/sticky", self.vip_sticky, 80, affinity_timeout=600,
                              endpoints=both),
            rules.ServicePort("kube-system/kube-dns:dns", self.vip_dns, 53, "UDP",
                              endpoints=(rules.Endpoint(dns_ip, 53),)),
            rules.ServicePort("kube-system/kube-dns:dns-tcp", self.vip_dns, 53, "TCP",
                              endpoints=(rules.Endpoint(dns_ip, 53),)),
        ]

    def dns_services(self) -> list[dns.DnsService]:
        return [
            dns.DnsService("default", "fake", self.vip, ports=(dns.DnsPort("http", "TCP", 80),)),
            dns.DnsService("default", "fakehl", None, ports=(dns.DnsPort("http", "TCP", 80),),
                           endpoints=(dns.DnsEndpoint(self.ip_a, ports=(("http", 8080),)),
                                      dns.DnsEndpoint(self.ip_b, ports=(("http", 8080),)))),
        ]

    def saved(self) -> str:
        return apply.saved_rules(self.proxy, apply.backend(self.proxy))

    def client_sh(self, script: str) -> tuple[int, str, str]:
        return apply.exec_in(self.client, ["sh", "-c", script])


def _free_node_port() -> int:
    while True:
        port = random.randint(30100, 32767)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def _get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory,
          docker_client: docker.DockerClient) -> Iterator[Plane]:
    for image in (apply.PROXY_IMAGE, dns.DNS_IMAGE):
        try:
            docker_client.images.get(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"image {image} is missing: run `make images`")
    tmp: Path = tmp_path_factory.mktemp("dataplane")
    pc = Podctl(tmp / "home", tmp)
    homeid = pc.homeid
    client_uid = str(uuid.uuid4())
    created: list[str] = []
    try:
        if pc.run("get", "namespace", "kube-system").code != 0:
            pc("create", "namespace", "kube-system")
        pc.apply_yaml(KUBIA.format(name=f"kubia-a-{homeid}") + "---\n"
                      + KUBIA.format(name=f"kubia-b-{homeid}"))
        # The made-up services take addresses in the /24 the engine reserved for this home,
        # so they can never shadow another home's cluster IPs while tests run in parallel.
        third = pc("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}").split(".")[2]
        vips = [f"10.96.{third}.{n}" for n in random.sample(range(20, 250), 4)]
        pc.apply_yaml(SYSTEM.format(sfx=homeid))
        ips = {}
        for name in (f"kubia-a-{homeid}", f"kubia-b-{homeid}"):
            pc.wait_for(lambda n=name: bool(pc.pod_json(n)["status"].get("podIP")),
                        message=f"{name} IP")
            ips[name] = pc.pod_json(name)["status"]["podIP"]
        uids = {name: pc.pod_json(name, "kube-system")["metadata"]["uid"]
                for name in (f"kube-proxy-{homeid}", f"dns-{homeid}")}
        proxy = apply.find_container(uids[f"kube-proxy-{homeid}"], "kube-proxy")
        dns_ctr = apply.find_container(uids[f"dns-{homeid}"], "dnsmasq")
        assert proxy and dns_ctr
        vip_dns = f"10.96.{third}.10"
        # A pod sandbox made as the kubelet will make it once DNS is wired in.
        fake_pod = {"metadata": {"name": f"client-{homeid}", "namespace": "default",
                                 "uid": client_uid}, "spec": {}}
        settings = sandbox.pod_dns({}, "default", vip_dns)
        sandbox_id = sandbox.create_sandbox(fake_pod, 0, PAUSE_IMAGE, dns=settings)
        created.append(sandbox_id)
        docker_client.api.start(sandbox_id)
        client = docker_client.containers.run(
            BUSYBOX_IMAGE, ["sleep", "3600"], detach=True,
            network_mode=f"container:{sandbox_id}",
            labels={"io.kubernetes.pod.uid": client_uid})
        yield Plane(pc, homeid, proxy, dns_ctr, f"kubia-a-{homeid}", f"kubia-b-{homeid}",
                    ips[f"kubia-a-{homeid}"], ips[f"kubia-b-{homeid}"], *vips, vip_dns,
                    _free_node_port(), client.id, apply.pod_network())
    finally:
        try:
            apply.remove_all(homeid)  # written here without a controller: no count of them
        finally:
            remove_pod_leftovers(docker_client, client_uid)
            remove_home(pc.home)


@pytest.fixture(scope="module")
def synced(plane: Plane) -> Plane:
    apply.sync(plane.proxy, plane.homeid, plane.services(), plane.network)
    dns.install(plane.dns, dns.render_dns(plane.dns_services()))
    return plane


def _hits(texts: list[str]) -> set[str]:
    return {t.strip().removeprefix("You've hit ") for t in texts if t.strip()}


def test_host_to_cluster_ip_reaches_both_pods(synced: Plane) -> None:
    got = _hits([_get(f"http://{synced.vip}/") for _ in range(30)])
    assert got == {synced.a, synced.b}


def test_pod_to_cluster_ip_reaches_both_pods(synced: Plane) -> None:
    out = synced.podctl("exec", synced.b, "--", "sh", "-c",
                        f"for i in $(seq 30); do wget -qO- http://{synced.vip}/; echo; done")
    assert _hits(out.splitlines()) == {synced.a, synced.b}


def test_hairpin_a_pod_reaches_itself_through_its_service(synced: Plane) -> None:
    # (busybox's wget -T crashes in this build: timeouts come from `timeout`.)
    out = synced.podctl("exec", synced.a, "--", "timeout", "10", "wget", "-qO-",
                        f"http://{synced.vip_a}/")
    assert out.strip() == f"You've hit {synced.a}"


def test_node_port_on_localhost(synced: Plane) -> None:
    got = _hits([_get(f"http://127.0.0.1:{synced.node_port}/") for _ in range(10)])
    assert got <= {synced.a, synced.b} and got


def test_service_without_endpoints_refuses_at_once(synced: Plane) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((synced.vip_empty, 80), timeout=10).close()
    code, _, err = synced.client_sh(f"timeout 10 wget -qO- http://{synced.vip_empty}/")
    assert code != 0 and "refused" in err


def test_client_ip_affinity_pins_one_pod(synced: Plane) -> None:
    assert len(_hits([_get(f"http://{synced.vip_sticky}/") for _ in range(15)])) == 1


def test_dns_names_search_path_srv_and_headless(synced: Plane) -> None:
    code, out, err = synced.client_sh("cat /etc/resolv.conf")
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in out
    assert "options ndots:5" in out
    fqdn = "fake.default.svc.cluster.local"
    code, out, err = synced.client_sh(f"nslookup {fqdn}")
    assert code == 0 and synced.vip in out, out + err
    # busybox's nslookup walks the search list only for names without a dot (and fails
    # if any try does); the libc resolver, as wget uses it, applies ndots:5 as pods do.
    code, out, err = synced.client_sh("nslookup fake")
    assert synced.vip in out, out + err
    for name in ("fake", "fake.default", "fake.default.svc"):
        code, out, err = synced.client_sh(f"timeout 10 wget -qO- http://{name}/")
        assert code == 0 and out.startswith("You've hit"), (name, err)
    code, out, _ = synced.client_sh(f"nslookup -type=SRV _http._tcp.{fqdn}")
    assert code == 0 and f"80 {fqdn}" in out
    code, out, _ = synced.client_sh("nslookup fakehl.default.svc.cluster.local")
    assert synced.ip_a in out and synced.ip_b in out
    # Unknown names in the cluster domain: NXDOMAIN from the cluster DNS itself.
    code, out, err = synced.client_sh("nslookup nosuch.default.svc.cluster.local")
    assert code != 0 and "NXDOMAIN" in out + err
    code, out, _ = synced.client_sh("ping -c1 -W1 localhost >/dev/null; nslookup localhost")
    assert "127.0.0.1" in out


def test_dns_query_to_cluster_dns_ip_over_udp_and_tcp_from_host_netns(synced: Plane) -> None:
    code, out, err = apply.exec_in(synced.proxy, [
        "nslookup", "fake.default.svc.cluster.local", synced.vip_dns])
    assert code == 0 and synced.vip in out, out + err


def test_dns_reload_picks_up_changes(synced: Plane) -> None:
    extra = dns.DnsService("default", "later", synced.vip_a)
    assert dns.install(synced.dns, dns.render_dns([*synced.dns_services(), extra])) in (
        "reloaded", "restarted")
    code, out, _ = synced.client_sh("nslookup later.default.svc.cluster.local")
    assert code == 0 and synced.vip_a in out
    dns.install(synced.dns, dns.render_dns(synced.dns_services()))


def test_sync_is_idempotent_and_other_homes_are_left_alone(synced: Plane) -> None:
    before = rules.owned_lines(synced.homeid, synced.saved())
    apply.sync(synced.proxy, synced.homeid, synced.services(), synced.network)
    assert sorted(rules.owned_lines(synced.homeid, synced.saved())) == sorted(before)
    other = uuid.uuid4().hex[:8]
    track_home(other)
    # An address of this home's range: no other home's sweep of dead homes looks there.
    vip = synced.vip_empty.rsplit(".", 1)[0] + ".251"
    try:
        apply.sync(synced.proxy, other, [rules.ServicePort(
            "default/fake", vip, 80, endpoints=(rules.Endpoint(synced.ip_a, 8080),))],
            synced.network)
        assert rules.owned_lines(other, synced.saved())
    finally:
        apply.remove_all(other, synced.proxy)
    assert not rules.owned_lines(other, synced.saved())
    assert sorted(rules.owned_lines(synced.homeid, synced.saved())) == sorted(before)


def test_removing_a_service_removes_its_rules(synced: Plane) -> None:
    kept = [s for s in synced.services() if s.name != "default/only-a"]
    try:
        apply.sync(synced.proxy, synced.homeid, kept, synced.network)
        owned = "\n".join(rules.owned_lines(synced.homeid, synced.saved()))
        assert f"-d {synced.vip_a}/32 " not in owned and f"-d {synced.vip}/32 " in owned
    finally:
        apply.sync(synced.proxy, synced.homeid, synced.services(), synced.network)


def test_zz_remove_all_leaves_nothing_of_the_home(synced: Plane) -> None:
    # Named to run last in this module: it takes the rules away.
    apply.remove_all(synced.homeid, synced.proxy)
    assert rules.owned_lines(synced.homeid, synced.saved()) == []
    # No traffic to the cluster IP now: without the rules it would leave the machine.
