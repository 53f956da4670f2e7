"""kubelet.grpcprobe: the Health/Check messages and upstream's verdict texts."""

from __future__ import annotations

import socket

from podctl.kubelet.grpcprobe import go_duration, grpc_probe, request_message, response_status
from podctl.kubelet.probes import FAILURE


def test_request_message_is_length_prefixed_protobuf() -> None:
    assert request_message("") == b"\x00\x00\x00\x00\x00"
    assert request_message("api") == b"\x00\x00\x00\x00\x05\x0a\x03api"
    long = "s" * 200  # a two-byte varint length
    assert request_message(long)[5:8] == b"\x0a\xc8\x01"


def test_response_status_reads_field_one() -> None:
    assert response_status(b"\x00\x00\x00\x00\x02\x08\x01") == 1
    assert response_status(b"\x00\x00\x00\x00\x02\x08\x02") == 2
    assert response_status(b"\x00\x00\x00\x00\x00") == 0  # proto3 default: UNKNOWN
    # An unknown length-delimited field before it is skipped.
    assert response_status(b"\x00\x00\x00\x00\x06\x12\x02hi\x08\x01") == 1


def test_a_closed_port_fails_as_the_kubelets_dial_timeout() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = grpc_probe({"grpc": {"port": port}}, "127.0.0.1", 1.0)
    assert outcome.result == FAILURE
    assert outcome.output == (f'timeout: failed to connect service "127.0.0.1:{port}" within '
                              "1s: context deadline exceeded")
    assert go_duration(1.5) == "1.5s"
