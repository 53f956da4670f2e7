"""The Services data plane as Kubernetes runs it: system pods in kube-system — a kube-proxy
(host network, NET_ADMIN) whose iptables rules the controller writes through Docker exec,
and a cluster DNS behind the `kube-dns` Service — kept in line with the home's Services and
Endpoints. They are made when the home's first Service appears or the API serves pods, and
go, rules first, once neither is left and no pod was given the cluster DNS. The rules also
go when the kube-proxy pod is deleted and when the controller stops (see remove_rules)."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.controllers.deletion import mark_pod_deleting
from podctl.controllers.podnetwork import node_agents
from podctl.controllers.services import (
    DNS_SERVICE,
    KUBERNETES,
    SYSTEM_NAMESPACE,
    Reserve,
    dns_ip,
    service_network,
)
from podctl.errors import AlreadyExists, DockerUnavailable
from podctl.home import home_id
from podctl.manifest.defaults import default_object
from podctl.node import ensure_node, host_node_name
from podctl.proxy import apply, dns, netpol
from podctl.proxy.rules import Endpoint, ServicePort, port_key
from podctl.runtime import engines, inventory
from podctl.runtime.client import api_error
from podctl.runtime.network import gateway_ip
from podctl.store import Store

log = logging.getLogger("podctl.dataplane")

PROXY_POD = "kube-proxy"
DNS_POD = "kube-dns"
APPLIED = "dataplane-applied"  # a store counter: this home's rules are in the kernel
# In what sync_dataplane did: the nodes whose agent failed it (a sync to try again; no
# event may come to ask for one).
FAILED = "failed on"


MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def system_pods() -> list[Obj]:
    """The kube-proxy and DNS pods, defaulted as if created from manifests."""
    proxy: Obj = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": PROXY_POD, "namespace": SYSTEM_NAMESPACE,
                          "labels": {"k8s-app": "kube-proxy"}},
             "spec": {"hostNetwork": True,
                      "terminationGracePeriodSeconds": 1,
                      "containers": [{"name": "kube-proxy", "image": apply.PROXY_IMAGE,
                                      "imagePullPolicy": "Never",
                                      "securityContext": {"capabilities": {
                                          "add": ["NET_ADMIN", "SYS_ADMIN"]}}}]}}
    dns_pod: Obj = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": DNS_POD, "namespace": SYSTEM_NAMESPACE,
                            "labels": {"k8s-app": "kube-dns"}},
               # Default: the DNS forwards other names to the node's resolver, not to itself.
               "spec": {"dnsPolicy": "Default",
                        "terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "dnsmasq", "image": dns.DNS_IMAGE,
                                        "imagePullPolicy": "Never",
                                        "ports": [{"name": "dns", "containerPort": 53,
                                                   "protocol": "UDP"},
                                                  {"name": "dns-tcp", "containerPort": 53,
                                                   "protocol": "TCP"}]}]}}
    for pod in (proxy, dns_pod):
        # Made and remade on their node by podctl itself, as a kubelet's static pods: the
        # mirror annotation tells kubectl drain (and the ServiceAccount admission) so.
        pod["metadata"]["annotations"] = {MIRROR_ANNOTATION: pod["metadata"]["name"]}
    return [default_object("Pod", pod, SYSTEM_NAMESPACE) for pod in (proxy, dns_pod)]


def dns_service(cluster_ip: str) -> Obj:
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": DNS_SERVICE, "namespace": SYSTEM_NAMESPACE,
                            "labels": {"k8s-app": "kube-dns",
                                       "kubernetes.io/name": "CoreDNS"}},
               "spec": {"clusterIP": cluster_ip, "selector": {"k8s-app": "kube-dns"},
                        "ports": [{"name": "dns", "port": 53, "protocol": "UDP",
                                   "targetPort": 53},
                                  {"name": "dns-tcp", "port": 53, "protocol": "TCP",
                                   "targetPort": 53}]}}
    return default_object("Service", service, SYSTEM_NAMESPACE)


def wanted(store: Store) -> bool:
    """A user made a Service (the `kubernetes` and `kube-dns` ones come with the plane) or
    a NetworkPolicy (kube-proxy's pod enforces them too), or the API serves pods (the
    `kubernetes` Service has endpoints)."""
    api = store.get("Endpoints", "default", KUBERNETES)
    return bool(api and api.get("subsets")) or bool(store.list("NetworkPolicy")) or any(
        not _builtin(s) for s in store.list("Service"))


def _builtin(service: Obj) -> bool:
    key = (meta.namespace_of(service), meta.name_of(service))
    return key in (("default", KUBERNETES), (SYSTEM_NAMESPACE, DNS_SERVICE))


def ensure_system(store: Store, reserve: Reserve) -> None:
    """kube-system, the `kube-dns` Service and the two system pods, made once."""
    registry.ensure_namespace(store, SYSTEM_NAMESPACE)
    if store.get("Service", SYSTEM_NAMESPACE, DNS_SERVICE) is None:
        with contextlib.suppress(AlreadyExists):
            registry.create(store, dns_service(dns_ip(service_network(store, reserve))))
    # The data plane acts on this engine: its pods are bound to its node, whatever the
    # scheduler would pick among several (a DaemonSet's tolerate-all pods, in effect).
    host = meta.name_of(ensure_node(store))
    for pod in system_pods():
        if store.get("Pod", SYSTEM_NAMESPACE, meta.name_of(pod)) is None:
            pod["spec"]["nodeName"] = host
            with contextlib.suppress(AlreadyExists):
                store_and_bind(store, pod)


def plan(services: list[Obj], endpoints: list[Obj]) -> tuple[list[ServicePort],
                                                           list[dns.DnsService]]:
    """Rules and DNS records for every Service, from its Endpoints (pure)."""
    by_key = {(meta.namespace_of(e), meta.name_of(e)): e for e in endpoints}
    ports: list[ServicePort] = []
    records: list[dns.DnsService] = []
    for service in services:
        spec = service["spec"]
        ns, name = meta.namespace_of(service), meta.name_of(service)
        if spec.get("type") == "ExternalName":
            if spec.get("externalName"):
                records.append(dns.DnsService(ns, name, None, external_name=spec["externalName"]))
            continue
        subsets = (by_key.get((ns, name)) or {}).get("subsets") or []
        cluster_ip = spec.get("clusterIP")
        headless = cluster_ip in (None, "", "None")
        affinity = None
        if spec.get("sessionAffinity") == "ClientIP":
            affinity = int(((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
                           .get("timeoutSeconds", 10800))
        dns_ports = []
        for sp in spec.get("ports") or []:
            pname, proto = sp.get("name", ""), sp.get("protocol", "TCP")
            dns_ports.append(dns.DnsPort(pname, proto, int(sp["port"])))
            if headless:
                continue
            targets = tuple(sorted({Endpoint(a["ip"], int(p["port"]))
                                    for subset in subsets for p in subset.get("ports") or []
                                    if p.get("name", "") == pname
                                    and p.get("protocol", "TCP") == proto
                                    for a in subset.get("addresses") or []},
                                   key=lambda e: (e.ip, e.port)))
            ports.append(ServicePort(name=port_key(ns, name, pname), cluster_ip=cluster_ip,
                                     port=int(sp["port"]), protocol=proto,
                                     node_port=sp.get("nodePort"),
                                     affinity_timeout=affinity, endpoints=targets))
        records.append(dns.DnsService(ns, name, None if headless else cluster_ip,
                                      tuple(dns_ports), _dns_endpoints(subsets)))
    return ports, records


def _dns_endpoints(subsets: list[Obj]) -> tuple[dns.DnsEndpoint, ...]:
    found: dict[str, dns.DnsEndpoint] = {}
    for subset in subsets:
        named = tuple((p["name"], int(p["port"])) for p in subset.get("ports") or []
                      if p.get("name"))
        for address in subset.get("addresses") or []:
            found[address["ip"]] = dns.DnsEndpoint(address["ip"], address.get("hostname", ""),
                                                   named)
    return tuple(found[ip] for ip in sorted(found))


def _running(store: Store, name: str, container: str) -> str | None:
    pod = store.get("Pod", SYSTEM_NAMESPACE, name)
    if pod is None or pod["metadata"].get("deletionTimestamp"):
        return None
    return apply.find_container(meta.uid_of(pod), container)


def sync_dataplane(store: Store, reserve: Reserve) -> dict[str, Any]:
    """Bring the kernel's rules and the DNS records in line with the store; make the system
    pods when a Service needs them, and take the whole plane away once nothing needs it;
    remove this home's rules once the kube-proxy pod is gone. What it did, for the log."""
    homeid = home_id(store.path.parent)
    if wanted(store) or (_has_plane(store) and inventory.cluster_dns_users(homeid)):
        ensure_system(store, reserve)
    elif _has_plane(store):
        return teardown(store, homeid)
    proxy = _running(store, PROXY_POD, "kube-proxy")
    if store.get("Pod", SYSTEM_NAMESPACE, PROXY_POD) is None:
        if store.counter(APPLIED):
            apply.remove_all(homeid)
            store.set_counter(APPLIED, 0)
            return {"removed": homeid}
        return {}
    ports, records = plan(store.list("Service"), store.list("Endpoints"))
    done: dict[str, Any] = {}
    if proxy is not None:
        # Counted before the rules are written: a controller stopped half-way through
        # leaves a count that says there may be rules to remove.
        if not store.counter(APPLIED):
            store.set_counter(APPLIED, 1)
        service_range = service_network(store, reserve)
        apply.sync(proxy, homeid, ports, service_range=service_range)
        done["ports"] = len(ports)
        policies = _policies(store, homeid)
        apply.sync_policies(proxy, homeid, policies(host_node_name(store) or "", ""))
        nodes, failed = _sync_nodes(store, homeid, ports, service_range, policies)
        if nodes:
            done["nodes"] = nodes
        if failed:
            done[FAILED] = failed
    dns_container = _running(store, DNS_POD, "dnsmasq")
    if dns_container is not None:
        dns.install(dns_container, dns.render_dns(records))
        done["dns"] = len(records)
    return done


def _has_plane(store: Store) -> bool:
    """The plane is up, or coming up: the DNS Service or a system pod not being deleted."""
    if store.get("Service", SYSTEM_NAMESPACE, DNS_SERVICE) is not None:
        return True
    return any(pod is not None and not pod["metadata"].get("deletionTimestamp")
               for pod in (store.get("Pod", SYSTEM_NAMESPACE, name)
                           for name in (PROXY_POD, DNS_POD)))


def teardown(store: Store, homeid: str) -> dict[str, Any]:
    """No user Service is left and no pod resolves names through the cluster DNS: the
    rules go at once (through the running kube-proxy), then the DNS Service, so that no
    new pod is given it, and the system pods."""
    removed = remove_rules(store, homeid)
    service = store.get("Service", SYSTEM_NAMESPACE, DNS_SERVICE)
    if service is not None:
        store.delete("Service", SYSTEM_NAMESPACE, DNS_SERVICE, meta.uid_of(service))
    for name in (PROXY_POD, DNS_POD):
        pod = store.get("Pod", SYSTEM_NAMESPACE, name)
        if pod is not None:
            mark_pod_deleting(store, pod)
    return {"torn down": homeid, "rule lines removed": removed}


def remove_rules(store: Store, homeid: str) -> int:
    """Remove this home's rules if it may have some (through its kube-proxy when that
    runs); how many lines of the tables were the home's."""
    if not store.counter(APPLIED):
        return 0
    removed = apply.remove_all(homeid, _running(store, PROXY_POD, "kube-proxy"))
    for name, engine, agent in node_agents(store):
        try:
            with engines.using(engine):
                removed += apply.remove_all(homeid, agent)
        except (DockerUnavailable, apply.ProxyError, api_error()) as exc:
            log.warning("kube-proxy's rules on node %s stay (%s)", name, exc)
    store.set_counter(APPLIED, 0)
    return removed


PolicyRender = Callable[[str, str], Callable[[str], str]]


def _policies(store: Store, homeid: str) -> PolicyRender:
    """For a node and the kubelet's address: the renderer of that node's policy rules,
    over one read of the policies, pods and namespaces."""
    policies, pods = store.list("NetworkPolicy"), store.list("Pod")
    namespaces = store.list("Namespace")

    def for_node(node: str, kubelet_ip: str) -> Callable[[str], str]:
        return lambda saved: netpol.render(homeid, policies, pods, namespaces, node, saved,
                                           kubelet_ip)

    return for_node


def _sync_nodes(store: Store, homeid: str, ports: list[ServicePort],
                service_range: ipaddress.IPv4Network,
                policies: PolicyRender) -> tuple[list[str], list[str]]:
    """kube-proxy's rules on every node container too (in its network agent, which is in
    the node's network namespace), so that a node's pods reach Services at their own node
    and a NodePort answers on the node's address; a node that is down is left (its new
    agent asks for a sync). The nodes done, and those whose agent failed the sync."""
    done, failed = [], []
    # The kubelet probes a node container's pods from the host's address on the link.
    kubelet_ip = gateway_ip()
    for name, engine, agent in node_agents(store):
        try:
            with engines.using(engine):
                apply.sync(agent, homeid, ports, service_range=service_range)
                apply.sync_policies(agent, homeid, policies(name, kubelet_ip))
        except (DockerUnavailable, apply.ProxyError, api_error()) as exc:
            log.warning("kube-proxy's rules on node %s: %s", name, exc)
            if not isinstance(exc, DockerUnavailable):  # a node that is down: its return wakes
                failed.append(name)
            continue
        done.append(name)
    return done, failed
