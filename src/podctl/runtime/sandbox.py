"""The pod sandbox: one pause container owning the pod's network, IPC and UTS namespaces."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from podctl.api.meta import Obj
from podctl.runtime import naming
from podctl.runtime.client import create_body, engine_call
from podctl.runtime.images import image_present
from podctl.runtime.network import NETWORK_NAME, ensure_network, forget_network

DEFAULT_PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
# What `make images` builds from images/pause: used when the default image is absent, so
# that an offline machine works without configuration.
LOCAL_PAUSE_IMAGE = "podctl/pause:1.0"


def pause_image() -> str:
    """PODCTL_PAUSE_IMAGE, else the kubelet's default, else the locally built one if only
    that one is present (checked without pulling)."""
    explicit = os.environ.get("PODCTL_PAUSE_IMAGE")
    if explicit:
        return explicit

    if image_present(DEFAULT_PAUSE_IMAGE) is None and image_present(LOCAL_PAUSE_IMAGE):
        return LOCAL_PAUSE_IMAGE
    return DEFAULT_PAUSE_IMAGE


def pod_hostname(pod: Obj) -> str:
    """spec.hostname, else the pod name cut to 63 characters without a trailing - or ."""
    name = pod["spec"].get("hostname") or pod["metadata"]["name"]
    return str(name)[:63].rstrip("-.")


def pod_domain(pod: Obj, cluster_domain: str = "cluster.local") -> str | None:
    """`<subdomain>.<ns>.svc.<zone>` for a pod with a subdomain (a StatefulSet's): its
    /etc/hosts then names it by that FQDN too, as the kubelet's does."""
    subdomain = pod["spec"].get("subdomain")
    if not subdomain:
        return None
    return f"{subdomain}.{pod['metadata'].get('namespace') or 'default'}.svc.{cluster_domain}"


def host_port_bindings(pod: Obj) -> dict[str, list[tuple[str, int]]]:
    """Docker port bindings for every container port that asks for a hostPort."""
    bindings: dict[str, list[tuple[str, int]]] = {}
    for container in pod["spec"].get("containers", []):
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                key = f"{port['containerPort']}/{port.get('protocol', 'TCP').lower()}"
                bindings.setdefault(key, []).append(
                    (port.get("hostIP") or "0.0.0.0", int(port["hostPort"]))
                )
    return bindings


@dataclass(frozen=True)
class PodDNS:
    """A pod's resolver settings, as the kubelet writes them into resolv.conf."""

    nameservers: tuple[str, ...]
    searches: tuple[str, ...]
    options: tuple[str, ...]
    # The cluster DNS it was given, if any: the home's data plane must stay while such a
    # pod lives, or its names stop resolving.
    cluster_dns: str | None = None


def pod_dns(spec: Obj, namespace: str, cluster_dns: str | None,
            domain: str = "cluster.local") -> PodDNS | None:
    """The kubelet's resolv.conf for a pod (dnsPolicy, then dnsConfig merged in); None
    for the node's own resolver settings, which Docker gives a container by default.

    ClusterFirst (the default) is `nameserver <cluster DNS>`, `search <ns>.svc.<zone>
    svc.<zone> <zone>`, `options ndots:5`; hostNetwork pods get it only with
    ClusterFirstWithHostNet. Without a cluster DNS the kubelet falls back to Default.

    How Docker carries it (checked on Docker 20.10 with a pause sandbox on the `podctl`
    bridge and an app container joined with network_mode=container:<sandbox>):
    - create the *sandbox* with host_config dns=[<cluster DNS>],
      dns_search=[<ns>.svc.cluster.local, svc.cluster.local, cluster.local],
      dns_opt=["ndots:5"]. App containers share the sandbox's resolv.conf (Docker copies
      its ResolvConfPath), so they see exactly what the sandbox sees; Docker rejects
      `dns` on them and ignores dns_search/dns_opt there.
    - On a user-defined network the file then reads `search <the three>`,
      `nameserver 127.0.0.11`, `options ndots:5`: Docker keeps its embedded resolver
      as the nameserver and uses <cluster DNS> as that resolver's upstream, queried
      from the pod's own network namespace. So a pod's query for `kubia` is tried as
      kubia.<ns>.svc.cluster.local, reaches the cluster DNS through the Service DNAT
      like any pod traffic, and is answered by it; container names on the bridge still
      resolve first, as they did before (podctl's container names are k8s_... and
      cannot shadow a Service name).
    - The literal `nameserver <cluster DNS>` line cannot be had through the API alone:
      put_archive onto /etc/resolv.conf fails ("unlinkat /etc/resolv.conf: device or
      resource busy", the file is a bind mount), the pause image has no shell to exec
      in, and rewriting the file under /var/lib/docker needs the engine's filesystem.
    """
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_network = bool(spec.get("hostNetwork"))
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    cluster_first = (policy == "ClusterFirstWithHostNet"
                     or (policy == "ClusterFirst" and not host_network))
    if cluster_first and cluster_dns:
        nameservers = [cluster_dns]
        searches = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]
        options = ["ndots:5"]
    config = spec.get("dnsConfig") or {}
    if policy != "None" and not nameservers and not config:
        return None
    for ns in config.get("nameservers") or []:
        if ns not in nameservers:
            nameservers.append(str(ns))
    for search in config.get("searches") or []:
        if search not in searches:
            searches.append(str(search))
    for opt in config.get("options") or []:
        text = opt["name"] + (f":{opt['value']}" if opt.get("value") is not None else "")
        options = [o for o in options if o.split(":", 1)[0] != opt["name"]] + [text]
    kept = tuple(nameservers[:3])
    given = cluster_dns if cluster_first and cluster_dns in kept else None
    return PodDNS(kept, tuple(searches), tuple(options), given)


def create_sandbox(pod: Obj, attempt: int, image: str, dns: PodDNS | None = None,
                   volumes: dict[str, str] | None = None) -> str:
    """Create (not start) the pause container; returns its id.

    With hostNetwork the sandbox shares the host's network (and name): no pod network,
    no published ports (a hostPort is the port itself). `dns` (see pod_dns) sets the
    resolver of the whole pod. `volumes`: Docker volumes it mounts, target -> name
    (runtime.volumes.sandbox_mounts).
    """
    host_network = bool(pod["spec"].get("hostNetwork"))
    network_id = None if host_network else ensure_network()
    query = {"name": naming.sandbox_name(pod, attempt)}
    try:
        created = engine_call("POST", "/containers/create", query,
                              sandbox_config(pod, attempt, image, network_id, dns, volumes))
    except Exception as exc:
        # Only an error brings the SDK's exceptions in: a pod start never waits for them.
        import docker.errors

        if network_id is None or not isinstance(exc, docker.errors.NotFound) \
                or "network" not in str(exc).lower():
            raise
        # The last home on the engine was reset and took the shared network with it.
        forget_network()
        created = engine_call("POST", "/containers/create", query,
                              sandbox_config(pod, attempt, image, ensure_network(), dns,
                                             volumes))
    return str(created["Id"])


def sandbox_config(pod: Obj, attempt: int, image: str, network_id: str | None,
                   dns: PodDNS | None, volumes: dict[str, str] | None = None) -> dict[str, Any]:
    """The Engine API's create body for the sandbox, as the SDK's create_container would
    send it (tests/unit/test_sandbox_config.py compares the two).

    Written out here, as the app containers' is (runtime.containers), so that starting a
    pod never waits for the SDK's import.
    """
    spec = pod["spec"]
    host_network = network_id is None
    bindings = {} if host_network else host_port_bindings(pod)
    host_config: dict[str, Any] = {
        "NetworkMode": "host" if host_network else network_id,
        "IpcMode": "host" if spec.get("hostIPC") else "shareable",
    }
    if spec.get("hostPID"):
        host_config["PidMode"] = "host"
    if bindings:
        host_config["PortBindings"] = {
            key: [{"HostIp": ip, "HostPort": str(port)} for ip, port in targets]
            for key, targets in bindings.items()}
    host_config["CpuShares"] = 2
    host_config["Init"] = False
    if dns and dns.nameservers:
        host_config["Dns"] = list(dns.nameservers)
    if dns and dns.searches:
        host_config["DnsSearch"] = list(dns.searches)
    if dns and dns.options:
        host_config["DnsOptions"] = list(dns.options)
    if volumes:
        host_config["Mounts"] = [{"Target": target, "Source": name, "Type": "volume",
                                  "ReadOnly": False} for target, name in volumes.items()]
    labels = naming.sandbox_labels(pod, attempt)
    if dns and dns.cluster_dns:
        labels[naming.CLUSTER_DNS] = dns.cluster_dns
    return create_body(
        Hostname=None if host_network else pod_hostname(pod),
        Domainname=None if host_network else pod_domain(pod), Image=image,
        Labels=labels, StopSignal="SIGTERM",
        ExposedPorts={key: {} for key in bindings} or None, HostConfig=host_config,
        NetworkingConfig=None if network_id is None else {"EndpointsConfig": {network_id: {}}})


def sandbox_ip(sandbox_id: str) -> str:
    info = engine_call("GET", f"/containers/{sandbox_id}/json")
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    if NETWORK_NAME in networks:
        return str(networks[NETWORK_NAME].get("IPAddress") or "")
    return next((str(n["IPAddress"]) for n in networks.values() if n.get("IPAddress")), "")
