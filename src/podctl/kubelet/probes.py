"""Probe handlers: httpGet, tcpSocket and grpc (grpcprobe) dialled from the host to the pod
IP, exec in the container, with the kubelet's success rules and Go-style failure texts."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit

from podctl.api.meta import Obj

SUCCESS, FAILURE, WARNING, UNKNOWN = "success", "failure", "warning", "unknown"
USER_AGENT = "kube-probe/1.37"
MAX_REDIRECTS = 10


@dataclass(frozen=True)
class Outcome:
    """A probe attempt: success, failure, warning (counts as success) or unknown (error)."""

    result: str
    output: str = ""


def resolve_port(port: Any, container: Obj) -> int | None:
    """A probe port: a number, a container port name, or a numeric string."""
    if isinstance(port, int):
        return port
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    try:
        return int(str(port))
    except ValueError:
        return None


def http_get(probe: Obj, pod_ip: str, container: Obj, timeout: float) -> Outcome:
    """GET scheme://host:port/path; 200-399 is success, redirects only to the same host."""
    spec = probe["httpGet"]
    port = resolve_port(spec.get("port"), container)
    if port is None:
        return Outcome(UNKNOWN, f'strconv.Atoi: parsing "{spec.get("port")}": invalid syntax')
    scheme = str(spec.get("scheme", "HTTP")).lower()
    host = spec.get("host") or pod_ip
    url = f"{scheme}://{hostport(host, port)}{spec.get('path') or '/'}"
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    for header in spec.get("httpHeaders") or []:
        headers[str(header["name"])] = str(header.get("value", ""))
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        outcome, location = one_request(url, headers, max(0.001, deadline - time.monotonic()))
        if location is None:
            return outcome
        target = urljoin(url, location)
        if urlsplit(target).hostname != urlsplit(url).hostname:
            return Outcome(WARNING, f"Probe terminated redirects, Response body: {outcome.output}")
        url = target
    return Outcome(FAILURE, f'Get "{url}": stopped after {MAX_REDIRECTS} redirects')


def hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def one_request(url: str, headers: dict[str, str], timeout: float
                 ) -> tuple[Outcome, str | None]:
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    exchange = _https_exchange if parts.scheme == "https" else _plain_exchange
    try:
        response = exchange(parts, path, headers, timeout)
    except TimeoutError:
        return Outcome(FAILURE, f'Get "{url}": context deadline exceeded (Client.Timeout '
                                "exceeded while awaiting headers)"), None
    except OSError as exc:
        return Outcome(FAILURE, f'Get "{url}": {_dial_error(parts, exc)}'), None
    if response is None:
        return Outcome(FAILURE, f'Get "{url}": malformed HTTP response'), None
    status, location, body = response
    if 300 <= status < 400 and location:
        return Outcome(WARNING, body), location
    if 200 <= status < 400:
        return Outcome(SUCCESS, body), None
    return Outcome(FAILURE, f"HTTP probe failed with statuscode: {status}"), None


def _https_exchange(parts: Any, path: str, headers: dict[str, str], timeout: float
                    ) -> tuple[int, str, str]:
    """One GET over TLS, the server's certificate unchecked as the kubelet's prober does:
    (status, Location, up to BODY_LIMIT bytes of body)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection(parts.hostname or "", parts.port,
                                             timeout=timeout, context=context)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read(BODY_LIMIT).decode(errors="replace")
        return response.status, response.getheader("Location") or "", body
    finally:
        connection.close()


def _plain_exchange(parts: Any, path: str, headers: dict[str, str], timeout: float
                    ) -> tuple[int, str, str] | None:
    """One plain-HTTP GET on a socket of its own, read as far as a probe needs: the status,
    Location and up to BODY_LIMIT bytes of body (None for an answer that is not HTTP).
    http.client parses every header line through the email package, which costs more CPU
    than the whole exchange here, and probes run many times a second."""
    host_header = next((v for k, v in headers.items() if k.lower() == "host"), parts.netloc)
    lines = [f"GET {path} HTTP/1.1", f"Host: {host_header}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    lines.append("Connection: close")  # the kubelet's prober disables keep-alive
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    deadline = time.monotonic() + timeout
    with socket.create_connection((parts.hostname or "", parts.port or 80),
                                  timeout=timeout) as sock:
        sock.sendall(request)
        return _read_response(sock, deadline)


BODY_LIMIT = 10 * 1024
HEAD_LIMIT = 64 * 1024


def _read_response(sock: socket.socket, deadline: float) -> tuple[int, str, str] | None:
    """(status, Location, body text) of a response; None when it is not HTTP."""
    data = bytearray()

    def more() -> bool:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        data.extend(chunk)
        return bool(chunk)

    while (end := data.find(b"\r\n\r\n")) < 0:
        if len(data) > HEAD_LIMIT or not more():
            return None
    status_line, *field_lines = data[:end].decode("latin-1").split("\r\n")
    words = status_line.split(" ", 2)
    if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        return None
    fields: dict[str, str] = {}
    for line in field_lines:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), value.strip())
    del data[:end + 4]
    chunked = "chunked" in fields.get("transfer-encoding", "").lower()
    length = fields.get("content-length", "")
    wanted = min(int(length), BODY_LIMIT) if length.isdigit() and not chunked else BODY_LIMIT
    while len(data) < wanted and not (chunked and b"0\r\n\r\n" in data) and more():
        pass
    body = _dechunk(bytes(data)) if chunked else bytes(data)
    return int(words[1]), fields.get("location", ""), body[:BODY_LIMIT].decode(errors="replace")


def _dechunk(data: bytes) -> bytes:
    """The payload of a chunked body (as much of it as was read)."""
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return bytes(out)


def _dial_error(parts: Any, exc: OSError) -> str:
    text = {111: "connect: connection refused", 113: "connect: no route to host",
            110: "i/o timeout", 104: "read: connection reset by peer"}.get(
        exc.errno or 0, str(exc.strerror or exc))
    return f"dial tcp {parts.hostname}:{parts.port}: {text}"


def tcp_socket(probe: Obj, pod_ip: str, container: Obj, timeout: float) -> Outcome:
    """Success when a TCP connection opens within the timeout."""
    spec = probe["tcpSocket"]
    port = resolve_port(spec.get("port"), container)
    if port is None:
        return Outcome(UNKNOWN, f'strconv.Atoi: parsing "{spec.get("port")}": invalid syntax')
    host = spec.get("host") or pod_ip
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return Outcome(SUCCESS)
    except TimeoutError:
        return Outcome(FAILURE, f"dial tcp {hostport(host, port)}: i/o timeout")
    except OSError as exc:
        detail = "connect: connection refused" if exc.errno == 111 else str(exc.strerror or exc)
        return Outcome(FAILURE, f"dial tcp {hostport(host, port)}: {detail}")


@cache
def _exec_pool() -> ThreadPoolExecutor:
    """Where exec probes wait for their commands, so the prober's thread can give up at the
    timeout. Shared: a thread started per probe would cost more than the probe's own work;
    sized so that commands hanging past their timeout do not hold up the others."""
    return ThreadPoolExecutor(max_workers=64, thread_name_prefix="exec-probe")


def exec_in(container_id: str, command: list[str], timeout: float) -> Outcome:
    """Run the command in the container (no shell); exit 0 is success, output is the text."""
    from podctl.runtime import execstream
    from podctl.runtime.client import docker_api, exec_exit_code

    api = docker_api()

    def run() -> tuple[int, str]:
        created = api.exec_create(container_id, command, stdout=True, stderr=True)
        stream = execstream.start_exec(api, created["Id"])
        try:
            # Interleaved as written, as the kubelet's combined output.
            output = b"".join(data for _, data in stream.frames())
        finally:
            stream.close()
        code = exec_exit_code(api, created["Id"])
        return int(code if code is not None else 1), output.decode(errors="replace")

    try:
        code, output = _exec_pool().submit(run).result(timeout=timeout)
    except FutureTimeout:
        return Outcome(FAILURE, f"command {command!r} timed out")
    except Exception as exc:  # the container went away or Docker refused: not a verdict
        return Outcome(UNKNOWN, str(exc))
    if code == 0:
        return Outcome(SUCCESS, output)
    return Outcome(FAILURE, output.strip() or f"command exited with code {code}")


def run_probe(probe: Obj, pod_ip: str, container: Obj, container_id: str) -> Outcome:
    """Dispatch on the probe's handler."""
    timeout = float(probe.get("timeoutSeconds", 1))
    if "httpGet" in probe:
        return http_get(probe, pod_ip, container, timeout)
    if "tcpSocket" in probe:
        return tcp_socket(probe, pod_ip, container, timeout)
    if "exec" in probe:
        return exec_in(container_id, list(probe["exec"].get("command") or []), timeout)
    if "grpc" in probe:
        from podctl.kubelet.grpcprobe import grpc_probe

        return grpc_probe(probe, pod_ip, timeout)
    return Outcome(UNKNOWN, "probe handler not supported by podctl")
