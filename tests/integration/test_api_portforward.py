"""The real kubectl's `port-forward` through `run-controller --api` (SPDY tunnelled in a
WebSocket): several ports, many connections, checksummed bytes both ways, half-close, and
the refusals in upstream's words."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.integration.conftest import Podctl, http_get
from tests.integration.test_api_kubectl import KUBECTL, ApiController
from tests.integration.test_portforward import Forward, _collect
from tests.integration.test_rbac import User

pytestmark = pytest.mark.integration

POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: podctl/busybox:1
    # httpd on 8080 (it goes to the background), and on 9090 a server that answers the
    # checksum of what it read once the client half-closes.
    command: [sh, -c, "mkdir -p /www && echo hello > /www/index.html && dd if=/dev/urandom
      of=/www/blob bs=1M count=20 2>/dev/null && httpd -p 8080 -h /www && touch /ready &&
      exec nc -ll -p 9090 -e sha256sum"]
    ports: [{{name: http, containerPort: 8080}}]
"""


class KubectlForward(Forward):
    """A `kubectl port-forward` process against the API, read as podctl's is."""

    def __init__(self, api: ApiController, *args: str,
                 env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([KUBECTL, "port-forward", *args],
                                     env={**api.env, **(env or {})}, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [threading.Thread(target=_collect, args=(stream, lines), daemon=True)
                        for stream, lines in ((self.proc.stdout, self.out),
                                              (self.proc.stderr, self.err))]
        for reader in self.readers:
            reader.start()


@pytest.fixture
def api(podctl: Podctl) -> Iterator[ApiController]:
    server = ApiController(podctl)
    yield server
    server.stop()


@pytest.fixture
def forwards() -> Iterator[list[KubectlForward]]:
    started: list[KubectlForward] = []
    yield started
    for process in started:
        process.kill()


def web_pod(podctl: Podctl, api: ApiController) -> str:
    name = f"pf-{uuid.uuid4().hex[:6]}"
    podctl.apply_yaml(POD.format(name=name))
    api("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    podctl.wait_for(lambda: api.run("exec", name, "--", "test", "-f", "/ready").code == 0,
                    timeout=60, message="the pod's servers")
    return name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sha256_download(port: int, path: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        head, _, body = head.partition(b"\r\n\r\n")
        digest.update(body)
        size += len(body)
        while chunk := sock.recv(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def checksum_by_half_close(port: int, data: bytes) -> str:
    """Send everything, half-close, and read the pod's answer to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    return answer.decode()


def upgrade_refusal(api: ApiController, path: str, headers: dict[str, str]) -> tuple[int, str]:
    """The code and Status message of a POST to pods/portforward that is refused (the
    headers as given: urllib would replace `Connection`)."""
    token = yaml.safe_load(api.kubeconfig.read_text())["users"][0]["user"]["token"]
    url = urllib.parse.urlparse(api.url)
    conn = http.client.HTTPSConnection(url.hostname or "", url.port, timeout=10,
                                       context=api.ca_context())
    try:
        conn.request("POST", path, headers={**headers, "Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, str(json.loads(response.read())["message"])
    finally:
        conn.close()


def test_kubectl_port_forward_answers(podctl: Podctl, api: ApiController,
                                      forwards: list[KubectlForward]) -> None:
    name = web_pod(podctl, api)
    local = free_port()
    forwards.append(KubectlForward(api, f"pod/{name}", f"{local}:8080", ":9090"))
    process = forwards[-1]
    (v4, port, remote), (v6, same, _), (_, echo_port, echo_remote) = process.listening(3)
    assert (v4, port, remote, v6, same, echo_remote) == (
        "127.0.0.1", local, 8080, "[::1]", local, 9090)
    assert process.out[:2] == [f"Forwarding from 127.0.0.1:{local} -> 8080",
                               f"Forwarding from [::1]:{local} -> 8080"]
    assert http_get(f"http://127.0.0.1:{local}/index.html", timeout=10) == "hello\n"
    assert http_get(f"http://[::1]:{local}/index.html", timeout=10) == "hello\n"

    # Many connections at once, each two streams of the one tunnel.
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(
            lambda _: http_get(f"http://127.0.0.1:{local}/index.html", timeout=20), range(40)))
    assert answers == ["hello\n"] * 40
    process.wait_for(lambda: process.out.count(f"Handling connection for {local}") == 42,
                     "Handling connection lines")

    # Bytes arrive intact both ways, a download beside an upload answered after the
    # client's half-close.
    expected = api("exec", name, "--", "sha256sum", "/www/blob").split()[0]
    upload = os.urandom(8 << 20)
    with ThreadPoolExecutor(max_workers=2) as pool:
        download = pool.submit(sha256_download, local, "/blob")
        checksum = pool.submit(checksum_by_half_close, echo_port, upload)
        assert download.result(timeout=60) == (20 << 20, expected)
        assert checksum.result(timeout=60) == f"{hashlib.sha256(upload).hexdigest()}  -\n"
    assert process.proc.poll() is None
    assert process.interrupt() == 0


def test_kubectl_port_forward_over_plain_spdy(podctl: Podctl, api: ApiController,
                                             forwards: list[KubectlForward]) -> None:
    """kubectl before 1.31 (and client-go's SPDY dialer) upgrade the connection itself."""
    name = web_pod(podctl, api)
    forwards.append(KubectlForward(api, f"pod/{name}", ":8080", ":9090", "-v=6",
                                   env={"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}))
    process = forwards[-1]
    (_, web, _), _, (_, echo, _), _ = process.listening(4)
    assert http_get(f"http://127.0.0.1:{web}/index.html", timeout=10) == "hello\n"
    upload = os.urandom(2 << 20)
    assert checksum_by_half_close(echo, upload) == f"{hashlib.sha256(upload).hexdigest()}  -\n"
    assert any('verb="POST"' in line and "/portforward" in line and "101 Switching" in line
               for line in process.err), process.err


def test_port_forward_refusals_in_upstreams_words(podctl: Podctl, api: ApiController,
                                                  forwards: list[KubectlForward]) -> None:
    name = web_pod(podctl, api)
    uid = api("get", "pod", name, "-o", "jsonpath={.metadata.uid}")
    ip = api("get", "pod", name, "-o", "jsonpath={.status.podIP}")

    # Nothing listens on the pod's port: the kubelet's message, and kubectl gives up.
    forwards.append(KubectlForward(api, f"pod/{name}", ":9999"))
    closed = forwards[-1]
    port = closed.port()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert sock.recv(10) == b""
    assert closed.proc.wait(timeout=30) == 1
    closed.wait_for(lambda: bool(closed.err) and closed.err[-1] == "error: lost connection "
                    "to pod", "kubectl's exit")
    assert any(f'"An error occurred forwarding" err="error forwarding port 9999 to pod {name}, '
               f'uid {uid}: dial tcp {ip}:9999: connect: connection refused"' in line
               for line in closed.err), closed.err

    # Not running: kubectl's own check; not there: the API's 404.
    podctl.apply_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: stuck}
spec:
  containers: [{name: app, image: podctl/not-there:1, imagePullPolicy: Never}]
""")
    assert api.fails("port-forward", "stuck", "8080") == (
        "error: unable to forward port because pod is not running. Current status=Pending\n")
    assert api.fails("port-forward", "pod/nope", "8080") == (
        'Error from server (NotFound): pods "nope" not found\n')

    # The SPDY upgrade refused as the kubelet refuses it.
    url = f"/api/v1/namespaces/default/pods/{name}/portforward"
    assert upgrade_refusal(api, url, {}) == (
        400, "unable to upgrade: missing upgrade headers in request")
    spdy = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}
    assert upgrade_refusal(api, url, spdy) == (
        400, "unable to upgrade: X-Stream-Protocol-Version is required")
    assert upgrade_refusal(api, url, {**spdy, "X-Stream-Protocol-Version": "v9"}) == (
        403, "unable to upgrade: unable to negotiate protocol: client supports [v9], server "
        "accepts [portforward.k8s.io]")

    # RBAC: the WebSocket's GET needs `create pods/portforward`, as SPDY's POST does.
    viewer = User(podctl, api, "viewer")
    api("create", "role", "pf-get", "--verb=get", "--resource=pods,pods/portforward")
    api("create", "rolebinding", "pf-get", "--role=pf-get", "--user=viewer")
    refused = viewer.run("port-forward", name, ":8080")
    assert (refused.code, refused.err) == (1, (
        f'error: error upgrading connection: unable to upgrade connection: pods "{name}" is '
        'forbidden: User "viewer" cannot create resource "pods/portforward" in API group "" '
        'in the namespace "default"\n')), str(refused)
    api("create", "role", "pf-create", "--verb=create", "--resource=pods/portforward")
    api("create", "rolebinding", "pf-create", "--role=pf-create", "--user=viewer")
    forwards.append(KubectlForward(api, name, ":8080",
                                   env={"KUBECONFIG": str(viewer.kubeconfig)}))
    allowed = forwards[-1]
    assert http_get(f"http://127.0.0.1:{allowed.port()}/index.html", timeout=10) == "hello\n"


def test_python_client_port_forward(podctl: Podctl, api: ApiController) -> None:
    """The Python client's protocol (v4.channel.k8s.io): a connection per port for the
    WebSocket's life (it ends when they all have); a port nothing listens on answers on its
    error channel."""
    from kubernetes import client, config
    from kubernetes.stream import portforward

    name = web_pod(podctl, api)
    expected = api("exec", name, "--", "sha256sum", "/www/blob").split()[0]
    uid = api("get", "pod", name, "-o", "jsonpath={.metadata.uid}")
    ip = api("get", "pod", name, "-o", "jsonpath={.status.podIP}")
    config.load_kube_config(config_file=str(api.kubeconfig))
    core = client.CoreV1Api()
    forward = portforward(core.connect_get_namespaced_pod_portforward, name, "default",
                          ports="8080,9999")
    try:
        web = forward.socket(8080)
        web.setblocking(True)
        web.sendall(b"GET /blob HTTP/1.0\r\n\r\n")
        response = b""
        while chunk := web.recv(1 << 20):
            response += chunk
        body = response.partition(b"\r\n\r\n")[2]
        assert (len(body), hashlib.sha256(body).hexdigest()) == (20 << 20, expected)
        assert forward.error(9999) == (f"error forwarding port 9999 to pod {name}, uid {uid}: "
                                       f"dial tcp {ip}:9999: connect: connection refused")
    finally:
        forward.close()
