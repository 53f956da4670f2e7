"""The gRPC probe (upstream pkg/probe/grpc): one grpc.health.v1.Health/Check call over
cleartext HTTP/2, dialled from the node to the pod as the other network probes are, with
upstream's verdicts and texts.

The HTTP/2 exchange is h2's (a maintained, pure-Python protocol state machine; no I/O of
its own): a unary call is one HEADERS + DATA out and HEADERS, DATA, trailers back, and
grpcio's C core would cost the controller far more to load and to run for that (see
bench/bench_grpc_probe.py and the README's gRPC probe note). The two protobuf messages are
one field each and are encoded here.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from podctl.kubelet.probes import FAILURE, SUCCESS, USER_AGENT, Outcome, hostport

PATH = "/grpc.health.v1.Health/Check"
STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
CODE_NAMES = ("OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
              "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
              "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
              "Unauthenticated")
UNIMPLEMENTED, DEADLINE_EXCEEDED = 12, 4
MAX_RESPONSE = 64 * 1024


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def go_duration(seconds: float) -> str:
    """Go's time.Duration text for whole or fractional seconds (1s, 1.5s)."""
    return f"{seconds:g}s"


def request_message(service: str) -> bytes:
    """A length-prefixed gRPC message holding HealthCheckRequest{service}."""
    raw = service.encode()
    body = b"\x0a" + _varint(len(raw)) + raw if raw else b""
    return b"\x00" + len(body).to_bytes(4, "big") + body


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def response_status(message: bytes) -> int:
    """HealthCheckResponse.status (field 1, an enum) of a length-prefixed message."""
    body = message[5:5 + int.from_bytes(message[1:5], "big")] if len(message) >= 5 else b""
    at = 0
    while at < len(body):
        tag = body[at]
        at += 1
        value, shift = 0, 0
        while at < len(body):
            byte = body[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if tag == 0x08:
            return value
        if tag & 0x07 == 2:  # a length-delimited field of a newer server: skipped
            at += value
    return 0


def grpc_probe(probe: Any, pod_ip: str, timeout: float) -> Outcome:
    """Probe.grpc: SERVING is success; anything else fails with upstream's text."""
    spec = probe["grpc"]
    port = int(spec.get("port") or 0)
    service = str(spec.get("service") or "")
    addr = hostport(pod_ip, port)
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((pod_ip, port), timeout=timeout)
    except OSError:
        # grpc.WithBlock keeps redialling until the deadline: a refused port times out too.
        return Outcome(FAILURE, f'timeout: failed to connect service "{addr}" within '
                                f"{go_duration(timeout)}: context deadline exceeded")
    try:
        with sock:
            status = _check(sock, addr, service, deadline)
    except TimeoutError:
        return Outcome(FAILURE, f"timeout: health rpc did not complete within "
                                f"{go_duration(timeout)}")
    except _RpcError as exc:
        if exc.code == UNIMPLEMENTED:
            return Outcome(FAILURE, "error: this server does not implement the grpc health "
                                    f"protocol (grpc.health.v1.Health): {exc.message}")
        if exc.code == DEADLINE_EXCEEDED:
            return Outcome(FAILURE, f"timeout: health rpc did not complete within "
                                    f"{go_duration(timeout)}")
        name = CODE_NAMES[exc.code] if 0 <= exc.code < len(CODE_NAMES) else f"Code({exc.code})"
        return Outcome(FAILURE, f"error: health rpc probe failed: rpc error: code = {name} "
                                f"desc = {exc.message}")
    except OSError as exc:
        return Outcome(FAILURE, "error: health rpc probe failed: rpc error: code = Unavailable "
                                f"desc = {exc.strerror or exc}")
    if status != 1:
        name = STATUS_NAMES.get(status, str(status))
        return Outcome(FAILURE, f'service unhealthy (responded with "{name}")')
    return Outcome(SUCCESS, "service healthy")


def _check(sock: socket.socket, addr: str, service: str, deadline: float) -> int:
    """One Check call on a connected socket: the response's status, or _RpcError."""
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, [
        (":method", "POST"), (":scheme", "http"), (":path", PATH), (":authority", addr),
        ("content-type", "application/grpc"), ("te", "trailers"),
        ("user-agent", USER_AGENT)])
    conn.send_data(stream, request_message(service), end_stream=True)
    sock.sendall(conn.data_to_send())
    fields: dict[str, str] = {}
    body = bytearray()
    while True:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        data = sock.recv(65536)
        if not data:
            raise _RpcError(14, "error reading from server: EOF")
        for event in conn.receive_data(data):
            if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                fields.update((_text(k), _text(v)) for k, v in event.headers)
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if len(body) > MAX_RESPONSE:
                    raise _RpcError(8, "received message larger than max")
            elif isinstance(event, h2.events.StreamReset):
                raise _RpcError(13, f"stream terminated by RST_STREAM with error code: "
                                    f"{event.error_code}")
            elif isinstance(event, h2.events.ConnectionTerminated):
                raise _RpcError(14, "the connection is draining")
            elif isinstance(event, h2.events.StreamEnded):
                return _verdict(fields, bytes(body))
        sock.sendall(conn.data_to_send())


def _verdict(fields: dict[str, str], body: bytes) -> int:
    if fields.get(":status", "200") != "200":
        raise _RpcError(2, "unexpected HTTP status code received from server: "
                           f"{fields.get(':status')}")
    code = fields.get("grpc-status", "")
    if not code.isdigit():
        raise _RpcError(13, "server closed the stream without sending trailers")
    if int(code) != 0:
        raise _RpcError(int(code), fields.get("grpc-message", ""))
    return response_status(body)


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
