"""Programs the host's packet filter from inside a home's kube-proxy container.

podctl itself never runs iptables: the rules are applied by `docker exec` in the
kube-proxy system pod, which has hostNetwork (so its iptables is the host's) and
NET_ADMIN. Only the Docker API is used, as everywhere else in podctl.

The payload is copied into the container with the archive API and fed to
`iptables-restore --noflush`: one atomic commit per table, and no size limit that a
command-line argument would have.

Host settings kube-proxy also makes, done here from the same container on every sync:
- net.ipv4.conf.all.route_localnet=1, so that 127.0.0.1:<nodePort> may be DNATed to a
  pod (kube-proxy sets it for the same reason; it is left set, as kube-proxy leaves it);
- hairpin_mode on every port of the pod bridge: with br_netfilter a pod reaching itself
  through its Service is bridged back out of the port it came in on, which the bridge
  refuses unless hairpin is on (kubelet's --hairpin-mode=hairpin-veth does the same);
- net.bridge.bridge-nf-call-iptables is read: when br_netfilter is absent, replies
  between pods on the bridge would bypass the DNAT, so all cluster-IP traffic is
  masqueraded instead (kube-proxy's --masquerade-all).
/proc/sys and /sys are read-only in an unprivileged container; a container given
CAP_SYS_ADMIN remounts them read-write in its own mount namespace (a privileged one
finds them writable already).
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import tarfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from podctl.proxy.rules import (
    ServicePort,
    homes_touching,
    owned_lines,
    render,
    render_removal,
    render_removals,
)
from podctl.runtime import execstream, naming
from podctl.runtime.client import container_list, docker_api, exec_exit_code, translate_errors
from podctl.runtime.leftovers import CLEANUP_LABEL
from podctl.runtime.network import network_info
from podctl.runtime.servicenet import live_homes

log = logging.getLogger("podctl.proxy")

PROXY_IMAGE = "podctl/kube-proxy:1"
_PAYLOAD_DIR = "/run"

# Which iptables dockerd writes with: its DOCKER chain shows up in that backend only.
# Mixing backends would put podctl's rules in other kernel tables than Docker's. nft is
# asked first: merely listing the legacy tables makes the kernel create them.
_BACKEND_PROBE = (
    "if iptables-nft-save -t nat 2>/dev/null | grep -q '^:DOCKER '; then echo nft; "
    "elif iptables-legacy-save -t nat 2>/dev/null | grep -q '^:DOCKER '; then echo legacy; "
    "else echo nft; fi"
)

_PREPARE = r"""
set -u
touch /proc/sys/net/ipv4/conf/all/route_localnet 2>/dev/null \
  || mount -o remount,rw /proc/sys 2>/dev/null || true
echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet 2>/dev/null \
  || echo "warning: cannot set route_localnet" >&2
for f in /sys/class/net/"$1"/brif/*/hairpin_mode; do
  [ -e "$f" ] || continue
  [ "$(cat "$f")" = 1 ] && continue
  echo 1 > "$f" 2>/dev/null || { mount -o remount,rw /sys 2>/dev/null; echo 1 > "$f"; } \
    || echo "warning: cannot set hairpin on $f" >&2
done
nf=/proc/sys/net/bridge/bridge-nf-call-iptables
if [ -e "$nf" ] && [ "$(cat $nf)" != 1 ]; then echo 1 > "$nf" 2>/dev/null || true; fi
if [ -e "$nf" ] && [ "$(cat $nf)" = 1 ]; then echo br_netfilter=1; else echo br_netfilter=0; fi
"""


class ProxyError(RuntimeError):
    """A command in the kube-proxy container failed."""


@dataclass(frozen=True)
class PodNetwork:
    """The pod bridge as the rules need it."""

    bridge: str  # the Linux bridge device, e.g. br-1a2b3c4d5e6f
    cidr: str  # its subnet, e.g. 172.18.0.0/16


def pod_network() -> PodNetwork:
    info = network_info()
    options = info.get("Options") or {}
    bridge = options.get("com.docker.network.bridge.name") or f"br-{info['Id'][:12]}"
    subnets = [c["Subnet"] for c in (info.get("IPAM") or {}).get("Config") or []
               if c.get("Subnet") and ":" not in c["Subnet"]]
    return PodNetwork(str(bridge), str(subnets[0]) if subnets else "")


def find_container(pod_uid: str, container: str) -> str | None:
    """The running container `container` of the pod with this uid (e.g. the home's
    kube-proxy pod), found by the labels every podctl container carries."""
    with translate_errors():
        found = docker_api().containers(filters={"label": [
            f"{naming.POD_UID}={pod_uid}", f"{naming.CONTAINER_NAME}={container}"],
            "status": "running"})
    return str(found[0]["Id"]) if found else None


def home_proxy(homeid: str) -> str | None:
    """The running kube-proxy container of a home, found by its labels alone (its store
    may be gone)."""
    found = container_list({"label": [f"{naming.HOME}={homeid}",
                                      f"{naming.POD_NAMESPACE}=kube-system",
                                      f"{naming.CONTAINER_NAME}=kube-proxy"],
                            "status": ["running"]})
    return str(found[0]["Id"]) if found else None


def exec_in(container_id: str, command: list[str]) -> tuple[int, str, str]:
    """Run a command in a container: (exit code, stdout, stderr)."""
    api = docker_api()
    with translate_errors():
        created = api.exec_create(container_id, command, stdout=True, stderr=True)
        out, err = execstream.run(api, created["Id"])
        code = exec_exit_code(api, created["Id"])
    # Docker never recorded an exit: not a success, whatever the output.
    return -1 if code is None else code, out.decode(errors="replace"), \
        err.decode(errors="replace")


def _check(container_id: str, command: list[str]) -> str:
    code, out, err = exec_in(container_id, command)
    if code != 0:
        raise ProxyError(f"{command[0]} failed in the kube-proxy container "
                         f"(exit {code}): {err.strip() or out.strip()}")
    return out


def backend(container_id: str) -> str:
    """"nft" or "legacy": the iptables variant dockerd uses on this host."""
    variant = _check(container_id, ["sh", "-c", _BACKEND_PROBE]).strip()
    if variant not in ("nft", "legacy"):
        # An engine under load has been seen to end an exec's stream with its output lost.
        raise ProxyError(f"the iptables backend probe printed {variant!r}")
    return variant


def prepare_host(container_id: str, network: PodNetwork) -> bool:
    """The host settings of the module docstring; whether br_netfilter is active."""
    out = _check(container_id, ["sh", "-c", _PREPARE, "prepare", network.bridge])
    return "br_netfilter=1" in out


def saved_rules(container_id: str, variant: str) -> str:
    """iptables-save of the filter and nat tables, as the renderer wants them."""
    return _check(container_id, ["sh", "-c",
                                 f"iptables-{variant}-save -t filter && "
                                 f"iptables-{variant}-save -t nat"])


def restore(container_id: str, variant: str, payload: str) -> None:
    """Run `iptables-restore --noflush` on the payload inside the container."""
    if not payload:
        return
    name = f"podctl-rules-{uuid.uuid4().hex[:12]}"
    data = payload.encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o600
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    with translate_errors():
        docker_api().put_archive(container_id, _PAYLOAD_DIR, buf.getvalue())
    path = f"{_PAYLOAD_DIR}/{name}"
    _check(container_id, ["sh", "-c",
                          # stdin: with --wait, a file argument would be taken as the wait time.
                          f'iptables-{variant}-restore --noflush --wait <"$1"; rc=$?; '
                          'rm -f "$1"; exit $rc', "restore", path])


def sync(container_id: str, homeid: str, services: Iterable[ServicePort],
         network: PodNetwork | None = None,
         service_range: ipaddress.IPv4Network | None = None) -> str:
    """Make the host's rules for this home exactly `services`; returns the payload.

    Call it on every change of a Service or its endpoints, after a controller start,
    and whenever the kube-proxy container (re)starts (a dockerd restart or a reboot
    restarts it): it is idempotent and rebuilds jumps that someone removed.

    With `service_range` (the home's /24), rules of dead homes for addresses in it go
    first: this home must not inherit what a home that held the range before left.
    """
    network = network or pod_network()
    variant = backend(container_id)
    br_netfilter = prepare_host(container_id, network)
    saved = saved_rules(container_id, variant)
    if service_range is not None:
        remove_dead_homes(container_id, variant, saved, service_range, keep=homeid)
    payload = render(homeid, services, saved,
                     pod_cidr=network.cidr if br_netfilter and network.cidr else None)
    restore(container_id, variant, payload)
    return payload


def sync_policies(container_id: str, homeid: str, render: Callable[[str], str]) -> str:
    """Make the network policies' chains of this home on the node the container is in what
    `render` (netpol.render, given the filter table as iptables-save prints it) says."""
    variant = backend(container_id)
    saved = _check(container_id, ["sh", "-c", f"iptables-{variant}-save -t filter"])
    payload = render(saved)
    restore(container_id, variant, payload)
    return payload


def remove_dead_homes(container_id: str, variant: str, saved: str,
                      service_range: ipaddress.IPv4Network, keep: str) -> set[str]:
    """Remove the rules of homes that match addresses in `service_range` but have no
    service range of their own any more: Docker hands a /24 to one home at a time, so a
    home whose rules reach into this one's range and which holds none is gone (reset, or
    its controller killed before it could clean up). A live home always holds its range
    before it writes a rule, so none of its rules is ever taken. The homes removed."""
    candidates = homes_touching(saved, service_range) - {keep}
    dead = candidates - live_homes() if candidates else set()
    if dead:
        log.warning("removing the iptables rules of gone homes %s (they match %s)",
                    ", ".join(sorted(dead)), service_range)
        restore(container_id, variant, render_removals(dead, saved))
    return dead


@contextlib.contextmanager
def proxy_container(container_id: str | None = None, homeid: str = "") -> Iterator[str]:
    """A container that can read and write the host's rules: `container_id` (a home's
    running kube-proxy) or, without one, a short-lived one from the same image with the
    same host network and capability, removed afterwards (labelled with the home it works
    for, so that a reset finds it if its maker died before removing it)."""
    if container_id is not None:
        yield container_id
        return
    api = docker_api()
    with translate_errors():
        created = api.create_container(
            PROXY_IMAGE, labels={CLEANUP_LABEL: homeid or "none"},
            host_config=api.create_host_config(network_mode="host", cap_add=["NET_ADMIN"]))
        try:
            api.start(created["Id"])
            yield str(created["Id"])
        finally:
            api.remove_container(created["Id"], force=True)


def host_rules(container_id: str | None = None) -> str:
    """iptables-save of the host's filter and nat tables, read through a proxy container."""
    with proxy_container(container_id) as found:
        return saved_rules(found, backend(found))


def remove_all(homeid: str, container_id: str | None = None) -> int:
    """Delete every chain and jump of this home, and nothing else; how many lines of the
    tables were this home's."""
    with proxy_container(container_id, homeid) as found:
        variant = backend(found)
        saved = saved_rules(found, variant)
        restore(found, variant, render_removal(homeid, saved))
        return len(owned_lines(homeid, saved))
