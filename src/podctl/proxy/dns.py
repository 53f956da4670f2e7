"""Cluster DNS: dnsmasq's configuration for a home's Services, and installing it.

The DNS system pod runs Debian's dnsmasq (image podctl/dns:1) on its pod IP; the
cluster DNS Service (10.96.X.10:53 UDP and TCP) is DNATed to it by the proxy rules.
dnsmasq is authoritative for the cluster domain (`local=/cluster.local/`): names it has
no record for get NXDOMAIN at once, so the ndots:5 search-path tries of outside names
cost nothing. Everything else goes to the resolver in the DNS pod's own resolv.conf,
which is Docker's embedded DNS (127.0.0.11) forwarding to the host's resolvers, so
outside names resolve for pods as they did before.

Records (the Kubernetes DNS specification; TTL 5 s as CoreDNS):
- A `<svc>.<ns>.svc.<zone>` → the cluster IP; for a headless Service one A per ready
  endpoint (none → NXDOMAIN), and `<hostname>.<svc>.<ns>.svc.<zone>` for endpoints
  with a hostname;
- SRV `_<port>._<proto>.<svc>.<ns>.svc.<zone>` for named ports only: one record
  targeting the Service name, or per ready endpoint of a headless Service targeting
  `<hostname or dashed IP>.<svc>.<ns>.svc.<zone>`;
- PTR for each of those addresses, which dnsmasq derives from the hosts file.
- CNAME `<svc>.<ns>.svc.<zone>` → `externalName` for an ExternalName Service. dnsmasq
  answers a CNAME only for a target it has records for itself, so one naming another
  Service of the cluster works, and one naming an outside host gets NXDOMAIN (dnsmasq
  cannot chase a CNAME upstream).
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass

from podctl.proxy.apply import ProxyError, exec_in
from podctl.runtime.client import docker_api, translate_errors

DNS_IMAGE = "podctl/dns:1"
CONFIG_DIR = "/etc/podctl-dns"
TTL = 5


@dataclass(frozen=True)
class DnsPort:
    name: str  # "" for an unnamed port (no SRV record)
    protocol: str  # TCP, UDP, SCTP
    port: int


@dataclass(frozen=True)
class DnsEndpoint:
    """A ready address. `ports` maps a port name to the endpoint's port for it."""

    ip: str
    hostname: str = ""
    ports: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class DnsService:
    namespace: str
    name: str
    cluster_ip: str | None  # None: headless
    ports: tuple[DnsPort, ...] = ()
    endpoints: tuple[DnsEndpoint, ...] = ()
    external_name: str | None = None  # an ExternalName Service's target host


@dataclass(frozen=True)
class DnsFiles:
    conf: str
    hosts: str


def render_dns(services: Iterable[DnsService], domain: str = "cluster.local",
               upstreams: Iterable[str] = ()) -> DnsFiles:
    """dnsmasq.conf and its hosts file for these Services. Deterministic.

    `upstreams` replaces the DNS pod's own resolv.conf servers when given.
    """
    conf = [
        "# podctl cluster DNS, generated: do not edit",
        "port=53",
        "user=nobody",
        "group=nobody",
        # The shell loop of the image supervises dnsmasq: no pid file; log to stderr.
        "pid-file=",
        "log-facility=-",
        "no-hosts",
        f"addn-hosts={CONFIG_DIR}/hosts",
        f"local=/{domain}/",
        f"local-ttl={TTL}",
    ]
    servers = list(upstreams)
    if servers:
        conf.append("no-resolv")
        conf += [f"server={s}" for s in servers]
    hosts: list[str] = []
    srv: list[str] = []
    cnames: list[str] = []
    for svc in sorted(services, key=lambda s: (s.namespace, s.name)):
        fqdn = f"{svc.name}.{svc.namespace}.svc.{domain}"
        if svc.external_name is not None:
            cnames.append(f"cname={fqdn},{svc.external_name.rstrip('.')},{TTL}")
            continue
        if svc.cluster_ip is not None:
            hosts.append(f"{svc.cluster_ip} {fqdn}")
            srv += [f"srv-host=_{p.name}._{p.protocol.lower()}.{fqdn},{fqdn},{p.port},0,100"
                    for p in sorted(svc.ports, key=lambda p: (p.name, p.protocol))
                    if p.name]
            continue
        endpoints = sorted(svc.endpoints, key=lambda e: (e.ip, e.hostname))
        for ep in endpoints:
            target = f"{ep.hostname or ep.ip.replace('.', '-')}.{fqdn}"
            # The endpoint's own name first: dnsmasq answers PTR with an address's
            # first name.
            hosts.append(f"{ep.ip} {target} {fqdn}")
            ports = dict(ep.ports)
            srv += [f"srv-host=_{p.name}._{p.protocol.lower()}.{fqdn},{target},"
                    f"{ports.get(p.name, p.port)},0,100"
                    for p in sorted(svc.ports, key=lambda p: (p.name, p.protocol))
                    if p.name]
    return DnsFiles("\n".join(conf + srv + cnames) + "\n", "".join(f"{h}\n" for h in hosts))


def install(container_id: str, files: DnsFiles) -> str:
    """Write the files into the running DNS container and make dnsmasq use them:
    "reloaded" (hosts re-read on SIGHUP) or "restarted" (the configuration changed)."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in (("dnsmasq.conf.new", files.conf), ("hosts.new", files.hosts)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = now
            tar.addfile(info, io.BytesIO(data))
    with translate_errors():
        docker_api().put_archive(container_id, CONFIG_DIR, buf.getvalue())
    code, out, err = exec_in(container_id, ["/bin/dns-reload"])
    if code != 0:
        raise ProxyError(f"dns-reload failed in the DNS container (exit {code}): "
                         f"{err.strip() or out.strip()}")
    return out.strip()
