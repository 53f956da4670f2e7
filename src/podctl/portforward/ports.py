"""kubectl port-forward's arguments: `[LOCAL:]REMOTE` pairs, named ports, listen addresses.

The rules and messages follow kubectl (`convertPodNamedPortToNumber`, `checkUDPPortInPod`)
and client-go (`parsePorts`, `parseAddresses`), Go's number syntax included.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from podctl.api.meta import Obj
from podctl.errors import PodctlError

_MAX_PORT = 65535
_ATOI = re.compile(r"[+-]?[0-9]+")
_INT64 = 1 << 63


@dataclass(frozen=True)
class PortPair:
    """One forwarded port; local 0 means any free port."""

    local: int
    remote: int


@dataclass(frozen=True)
class ListenAddress:
    """One address to listen on.

    `must_bind`: an address given explicitly fails its port when it cannot bind, whereas the
    two addresses of `localhost` fail a port only when neither binds (kubectl's "any"/"all").
    """

    host: str
    family: socket.AddressFamily
    must_bind: bool

    def join(self, port: int) -> str:
        """host:port as Go's net.JoinHostPort writes it (IPv6 in brackets)."""
        return f"[{self.host}]:{port}" if ":" in self.host else f"{self.host}:{port}"

    @property
    def network(self) -> str:
        return "tcp6" if self.family == socket.AF_INET6 else "tcp4"


def split_port(spec: str) -> tuple[str, str]:
    """kubectl's splitPort: `a:b` -> (a, b); anything else -> (first part, first part)."""
    parts = spec.split(":")
    if len(parts) == 2:
        return parts[0], parts[1]
    return parts[0], parts[0]


def named_ports_to_numbers(specs: Iterable[str], pod: Obj) -> list[str]:
    """Replace port names by the pod's container port numbers; refuse UDP-only ports."""
    udp_only = _udp_only_ports(pod)
    converted = []
    for spec in specs:
        local, remote = split_port(spec)
        numeric = _is_atoi(remote)
        number = int(remote) if numeric else _port_by_name(pod, remote)
        if number in udp_only:
            raise PodctlError(f"UDP protocol is not supported for {remote}")
        if numeric:  # kept as written, so that parse_ports rejects `1:2:3` (kubectl: `1`)
            converted.append(spec)
        elif local != remote:
            converted.append(f"{local}:{number}")
        else:
            converted.append(str(number))
    return converted


def parse_ports(specs: Iterable[str]) -> list[PortPair]:
    """client-go's parsePorts: `8080`, `8888:8080`, `:8080` and `0:8080` (any free port)."""
    pairs = []
    for spec in specs:
        parts = spec.split(":")
        if len(parts) > 2:
            raise PodctlError(f"invalid port format '{spec}'")
        local, remote = (parts[0], parts[0]) if len(parts) == 1 else (parts[0] or "0", parts[1])
        local_port = _parse_uint16(local, "local")
        remote_port = _parse_uint16(remote, "remote")
        if remote_port == 0:
            raise PodctlError("remote port must be > 0")
        pairs.append(PortPair(local_port, remote_port))
    return pairs


def parse_addresses(values: Iterable[str]) -> list[ListenAddress]:
    """client-go's parseAddresses: `localhost` is 127.0.0.1 and ::1; others must be IPs.

    Each value may hold several comma-separated addresses, as a pflag string slice does.
    """
    parsed: dict[str, ListenAddress] = {}
    for value in values:
        for host in value.split(","):
            for address in _listen_addresses(host):
                if address.must_bind or address.host not in parsed:
                    parsed[address.host] = address
    return sorted(parsed.values(), key=lambda a: a.host)


def go_ports(pairs: Iterable[PortPair]) -> str:
    """The pairs as Go's %v prints a []ForwardedPort: `[{8888 8080} {0 53}]`."""
    return "[" + " ".join(f"{{{p.local} {p.remote}}}" for p in pairs) + "]"


def go_listen_error(address: ListenAddress, port: int, exc: OSError) -> str:
    """A bind failure as Go's net.Listen words it: `listen tcp4 127.0.0.1:80: bind: ...`."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"listen {address.network} {address.join(port)}: bind: {reason[:1].lower()}{reason[1:]}"


def _listen_addresses(host: str) -> list[ListenAddress]:
    if host == "localhost":
        return [ListenAddress("127.0.0.1", socket.AF_INET, False),
                ListenAddress("::1", socket.AF_INET6, False)]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise PodctlError(f"{host} is not a valid IP") from None
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    return [ListenAddress(host, family, True)]


def _is_atoi(text: str) -> bool:
    """Whether Go's strconv.Atoi accepts the text (an optionally signed int64)."""
    return bool(_ATOI.fullmatch(text)) and -_INT64 <= int(text) < _INT64


def _parse_uint16(text: str, which: str) -> int:
    """Go's strconv.ParseUint(text, 10, 16), with client-go's error wording."""
    if not (text.isascii() and text.isdigit()):
        raise PodctlError(f"error parsing {which} port '{text}': "
                          f'strconv.ParseUint: parsing "{text}": invalid syntax')
    if int(text) > _MAX_PORT:
        raise PodctlError(f"error parsing {which} port '{text}': "
                          f'strconv.ParseUint: parsing "{text}": value out of range')
    return int(text)


def _port_by_name(pod: Obj, name: str) -> int:
    """kubectl's LookupContainerPortNumberByName."""
    for container in pod["spec"].get("containers", []):
        for port in container.get("ports") or []:
            if port.get("name") == name:
                return int(port["containerPort"])
    raise PodctlError(f"Pod '{pod['metadata']['name']}' does not have a named port '{name}'")


def _udp_only_ports(pod: Obj) -> set[int]:
    """Container ports declared for UDP and not also for TCP."""
    by_protocol: dict[str, set[int]] = {"TCP": set(), "UDP": set(), "SCTP": set()}
    for container in pod["spec"].get("containers", []):
        for port in container.get("ports") or []:
            by_protocol.setdefault(port.get("protocol", "TCP"), set()).add(
                int(port["containerPort"]))
    return by_protocol["UDP"] - by_protocol["TCP"]
