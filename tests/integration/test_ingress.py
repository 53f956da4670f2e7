"""Ingress on the real engine: the ingress controller's nginx pod on ports 80 and 443 of
this machine answering host and path rules, TLS by SNI, 404 for unknown hosts, 503 for a
backend without ready endpoints, as a user sees them through 127.0.0.1.

One controller serves the module (its proxy holds the machine's ports 80 and 443, so
these tests run alone, in the serial phase); each test has its own hosts and objects.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import socket
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from .conftest import ControllerProcess, Podctl, remove_home

pytestmark = [pytest.mark.integration, pytest.mark.serial]

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: kubia
        image: podctl/kubia:1
        ports: [{{containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
"""

INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: {name}}}
spec:
  {tls}
  rules:
  - host: {host}
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {{service: {{name: {backend}, port: {{number: 80}}}}}}
      - path: /v2
        pathType: Prefix
        backend: {{service: {{name: kubia-v2, port: {{name: http}}}}}}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory,
            docker_client: docker.DockerClient) -> Iterator[Podctl]:
    tmp = tmp_path_factory.mktemp("ingress")
    tool = Podctl(tmp / "home", tmp)
    busy = [port for port in (80, 443) if not _free(port)]
    assert not busy, f"ports {busy} of this machine are taken: the ingress tests need them"
    process = ControllerProcess(tool, ())
    try:
        tool.apply_yaml(APP.format(name="kubia", replicas=2))
        tool.apply_yaml(APP.format(name="kubia-v2", replicas=1))
        yield tool
    finally:
        process.stop()
        remove_home(tool.home)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def get(host: str, path: str = "/", port: int = 80,
        address: str = "127.0.0.1") -> tuple[int, str]:
    """A request to `address` with this Host header: status and body (0 when refused)."""
    conn = http.client.HTTPConnection(address, port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError:
        return 0, ""
    finally:
        conn.close()


def wait_status(podctl: Podctl, host: str, path: str, status: int, timeout: float = 60,
                text: str = "") -> str:
    found: list[str] = []

    def answered() -> bool:
        code, body = get(host, path)
        found[:] = [f"{code} {body[:80]!r}"]
        return code == status and text in body

    try:
        podctl.wait_for(answered, timeout=timeout, message=f"{status} for {host}{path}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last answer: {found}") from None
    return found[0]


def unique_host() -> str:
    return f"kubia-{uuid.uuid4().hex[:6]}.example.test"


def make_ingress(podctl: Podctl, host: str, backend: str = "kubia", tls: str = "") -> str:
    name = f"ing-{uuid.uuid4().hex[:6]}"
    podctl.apply_yaml(INGRESS.format(name=name, host=host, backend=backend, tls=tls))
    # Its ADDRESS is published once the proxy runs a configuration with it and no worker of
    # an older one takes connections any more: from then on every answer is the new one's.
    podctl.wait_for(lambda: "localhost" in podctl("get", "ing", name), timeout=60,
                    message=f"{name}'s ADDRESS")
    return name


def test_host_rule_answers_through_port_80(cluster: Podctl) -> None:
    name = make_ingress(cluster, "kubia.example.test")
    wait_status(cluster, "kubia.example.test", "/", 200, text="You've hit kubia-")
    cluster.wait_for(lambda: "localhost" in cluster("get", "ing", name), timeout=10,
                     message="the ADDRESS column")
    row = cluster("get", "ing", name).splitlines()[1].split()
    assert row[:5] == [name, "nginx", "kubia.example.test", "localhost", "80"]
    cluster("delete", "ing", name)


def test_an_unknown_host_gets_404_from_the_default_backend(cluster: Podctl) -> None:
    make_ingress(cluster, unique_host())
    wait_status(cluster, unique_host(), "/", 404, text="404 Not Found")


def test_a_prefix_rule_reaches_a_second_service(cluster: Podctl) -> None:
    host = unique_host()
    make_ingress(cluster, host)
    wait_status(cluster, host, "/v2", 200, text="You've hit kubia-v2-")
    assert "You've hit kubia-v2-" in get(host, "/v2/deeper")[1]
    # By path element: /v2x is not under /v2.
    code, body = get(host, "/v2x")
    assert code == 200 and "kubia-v2-" not in body


def test_tls_answers_on_443_for_its_sni_name(cluster: Podctl) -> None:
    host = unique_host()
    crt, key = self_signed(host, cluster.tmp)
    secret = f"tls-{uuid.uuid4().hex[:6]}"
    data = {k: base64.b64encode(f.read_bytes()).decode() for k, f in
            (("tls.crt", crt), ("tls.key", key))}
    cluster.apply_yaml(json.dumps({"apiVersion": "v1", "kind": "Secret",
                                   "type": "kubernetes.io/tls", "metadata": {"name": secret},
                                   "data": data}))
    make_ingress(cluster, host, tls=f"tls: [{{hosts: [{host}], secretName: {secret}}}]")
    context = ssl.create_default_context(cafile=str(crt))  # trusts our certificate only

    def served() -> bool:
        try:
            conn = http.client.HTTPSConnection("127.0.0.1", 443, timeout=5, context=context)
            conn.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", 443), 5),
                                            server_hostname=host)
            conn.request("GET", "/", headers={"Host": host})
            return "You've hit kubia-" in conn.getresponse().read().decode()
        except (OSError, ssl.SSLError):
            return False

    cluster.wait_for(served, timeout=60, message="TLS with the Secret's certificate")
    # ingress-nginx sends a TLS host's plain HTTP to HTTPS. Polled: for a moment after a
    # reload, a worker of the previous configuration may still take a new connection.
    cluster.wait_for(lambda: get(host)[0] == 308, timeout=10, message="the redirect to HTTPS")


def test_a_backend_scaled_to_zero_answers_503_then_recovers(cluster: Podctl) -> None:
    host, app = unique_host(), f"scaled-{uuid.uuid4().hex[:4]}"
    cluster.apply_yaml(APP.format(name=app, replicas=1))
    make_ingress(cluster, host, backend=app)
    wait_status(cluster, host, "/", 200, text=f"You've hit {app}-")
    cluster("scale", "deployment", app, "--replicas=0")
    wait_status(cluster, host, "/", 503, text="503 Service Temporarily Unavailable")
    cluster("scale", "deployment", app, "--replicas=1")
    wait_status(cluster, host, "/", 200, text=f"You've hit {app}-")


def test_describe_lists_rules_with_their_endpoints(cluster: Podctl) -> None:
    host = unique_host()
    name = make_ingress(cluster, host)
    cluster.wait_for(lambda: "localhost" in cluster("get", "ing", name), timeout=30,
                     message="the ingress published")
    text = cluster("describe", "ing", name)
    assert "Ingress Class:    nginx" in text
    assert f"  {host}  \n" in text
    lines = [line.split() for line in text.splitlines()]
    v2 = next(line for line in lines if line[:1] == ["/v2"])
    assert v2[1] == "kubia-v2:http" and v2[2].endswith(":8080)")
    status = json.loads(cluster("get", "ing", name, "-o", "json"))["status"]
    assert status == {"loadBalancer": {"ingress": [{"hostname": "localhost"}]}}


def self_signed(host: str, folder: Path) -> tuple[Path, Path]:
    """A certificate for `host` (its own CA) and its key, in files under `folder`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, keyfile = folder / f"{host}.crt", folder / f"{host}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return crt, keyfile


def test_every_node_has_its_proxy_on_its_own_ports(cluster: Podctl) -> None:
    """Last in the module: a node container joins, its proxy answers on the node's
    address (backends on the host's node, across the pod network), and goes with it."""
    host = unique_host()
    make_ingress(cluster, host)
    wait_status(cluster, host, "/", 200, text="You've hit kubia-")
    node = f"ing-{uuid.uuid4().hex[:4]}"
    proxy = f"ingress-nginx-controller-{node}"
    cluster("node", "add", node, timeout=180)
    try:
        address = next(a["address"] for a in json.loads(cluster(
            "get", "node", node, "-o", "json"))["status"]["addresses"]
            if a["type"] == "InternalIP")
        cluster.wait_for(lambda: "You've hit kubia-" in get(host, address=address)[1],
                         timeout=120, message=f"the proxy on node {node} at {address}")
        assert json.loads(cluster("get", "pod", "-n", "kube-system", proxy, "-o", "json"))[
            "spec"]["nodeName"] == node
        assert get(unique_host(), address=address)[0] == 404
    finally:
        cluster("node", "delete", node, timeout=180)
    cluster.wait_for(lambda: proxy not in cluster("get", "pods", "-n", "kube-system"),
                     timeout=60, message=f"{proxy} gone with its node")
