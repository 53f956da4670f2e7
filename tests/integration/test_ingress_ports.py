"""The ingress controller's ports when another program holds one: the controller says so in
one line, publishes nothing, and serves once the port is free; run-controller's flags move
the ports (free ones here, so this runs beside other tests)."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable

import pytest

from .conftest import ControllerProcess, Podctl

pytestmark = pytest.mark.integration

Start = Callable[..., ControllerProcess]

INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: held}
spec:
  defaultBackend: {service: {name: nosuch, port: {number: 80}}}
"""


def test_a_taken_port_is_said_in_one_line_and_served_once_free(
        podctl: Podctl, controller: Start) -> None:
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    http_port = holder.getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        https_port = probe.getsockname()[1]
    try:
        process = controller(f"--ingress-http-port={http_port}",
                             f"--ingress-https-port={https_port}")
        podctl.apply_yaml(INGRESS)
        process.wait_log(f"ingress: port {http_port} is taken on this machine; run-controller "
                         "--ingress-http-port/--ingress-https-port move the ingress controller",
                         timeout=60)
        process.wait_log(f"bind() to 0.0.0.0:{http_port} failed (98: Address already in use)",
                         timeout=60)
        assert "Traceback" not in process.log.read_text()
        assert podctl("get", "ing", "held", "-o", "jsonpath={.status}") in ("", "{}")
    finally:
        holder.close()

    def serving() -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=2)
        try:
            conn.request("GET", "/", headers={"Host": "any.example.test"})
            return conn.getresponse().status == 503  # the default backend has no Service
        except OSError:
            return False
        finally:
            conn.close()

    podctl.wait_for(serving, timeout=30, message="the proxy on the freed port")
    podctl.wait_for(lambda: "localhost" in podctl("get", "ing", "held"), timeout=15,
                    message="the Ingress published")
