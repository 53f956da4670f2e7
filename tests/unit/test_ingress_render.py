"""The ingress controller's nginx configuration as a pure render: upstream's precedence of
hosts and paths, backends from ready endpoints only, 404/503, TLS by Secret."""

from __future__ import annotations

import base64
import datetime
import re
from typing import Any

from podctl.proxy.ingress import Ports, Rendered, locations, render, served, usable_pair

Obj = dict[str, Any]
FAKE = b"fake certificate"


def ingress(name: str, rules: list[Obj], created: str = "2026-01-01T00:00:00Z",
            **spec: Any) -> Obj:
    return {"kind": "Ingress", "metadata": {"name": name, "namespace": "default",
                                            "creationTimestamp": created},
            "spec": {"ingressClassName": "nginx", "rules": rules, **spec}}


def rule(host: str, *paths: tuple[str, str, str]) -> Obj:
    return {"host": host, "http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": s, "port": {"number": 80}}}}
        for p, t, s in paths]}}


def service(name: str) -> Obj:
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


def endpoints(name: str, ready: list[str], not_ready: tuple[str, ...] = ()) -> Obj:
    return {"kind": "Endpoints", "metadata": {"name": name, "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ip} for ip in ready],
                         "notReadyAddresses": [{"ip": ip} for ip in not_ready],
                         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}


SERVICES = [service("a"), service("b"), service("empty")]
ENDPOINTS = [endpoints("a", ["10.244.0.5"]), endpoints("b", ["10.244.0.6", "10.244.0.7"]),
             endpoints("empty", [], ("10.244.0.9",))]


def conf(ingresses: list[Obj], secrets: list[Obj] | None = None,
         ports: Ports | None = None) -> Rendered:
    return render(ingresses, SERVICES, ENDPOINTS, secrets or [], ports or Ports(), FAKE)


def server_block(text: str, name: str) -> str:
    match = re.search(r"    server \{\n        server_name " + re.escape(name) +
                      r";\n(.*?)\n    \}\n", text, re.S)
    assert match, f"no server {name} in:\n{text}"
    return match.group(1)


def routes(text: str, name: str) -> dict[str, str]:
    """location -> what it does, in one server."""
    return dict(re.findall(r"location (.+?) \{\n\s+(.+?)\n", server_block(text, name)))


def test_prefix_matches_by_path_element_and_exact_only_itself() -> None:
    assert locations("Prefix", "/foo") == [("=", "/foo"), ("", "/foo/")]
    assert locations("Prefix", "/foo/") == [("=", "/foo"), ("", "/foo/")]
    assert locations("Prefix", "/") == [("", "/")]
    assert locations("Exact", "/foo") == [("=", "/foo")]
    assert locations("ImplementationSpecific", "/foo") == [("", "/foo")]  # nginx's prefix
    assert locations("ImplementationSpecific", "") == [("", "/")]


def test_rules_route_each_path_to_its_services_ready_endpoints() -> None:
    text = conf([ingress("x", [rule("kubia.example.test", ("/", "Prefix", "a"),
                                    ("/v2", "Prefix", "b"))])]).conf
    assert routes(text, "kubia.example.test") == {
        '"/"': "proxy_pass http://default_a_80;", '= "/v2"': "proxy_pass http://default_b_80;",
        '"/v2/"': "proxy_pass http://default_b_80;"}
    assert "upstream default_b_80 {\n        server 10.244.0.6:8080 max_fails=0;\n" \
           "        server 10.244.0.7:8080 max_fails=0;\n" in text


def test_the_hot_path_keeps_backend_connections_and_writes_no_access_log() -> None:
    text = conf([ingress("x", [rule("h.test", ("/", "Prefix", "b"))])]).conf
    upstream = text[text.index("upstream default_b_80 {"):]
    assert "keepalive 320;" in upstream[:upstream.index("}")]
    http = text[text.index("http {"):]
    # Kept connections need HTTP/1.1 and no `Connection: close` passed on.
    for directive in ("proxy_http_version 1.1;", "access_log off;", "proxy_buffering off;",
                      "proxy_set_header Connection $connection_upgrade;", "'' '';"):
        assert directive in http[:http.index("    server {")]
    assert "worker_processes auto;" in text and "multi_accept on;" in text


def test_exact_beats_the_exact_location_of_an_older_prefix() -> None:
    old = ingress("old", [rule("h.test", ("/foo", "Prefix", "a"))], "2026-01-01T00:00:00Z")
    new = ingress("new", [rule("h.test", ("/foo", "Exact", "b"))], "2026-01-02T00:00:00Z")
    found = routes(conf([new, old]).conf, "h.test")
    assert found['= "/foo"'] == "proxy_pass http://default_b_80;"
    assert found['"/foo/"'] == "proxy_pass http://default_a_80;"


def test_the_older_ingress_keeps_a_host_and_path_both_define() -> None:
    old = ingress("old", [rule("h.test", ("/", "Prefix", "a"))], "2026-01-01T00:00:00Z")
    new = ingress("new", [rule("h.test", ("/", "Prefix", "b"))], "2026-01-02T00:00:00Z")
    assert routes(conf([new, old]).conf, "h.test")['"/"'] == "proxy_pass http://default_a_80;"


def test_no_ready_endpoint_or_no_service_is_503_and_no_path_is_404() -> None:
    text = conf([ingress("x", [rule("h.test", ("/gone", "Exact", "nosuch"),
                                    ("/idle", "Exact", "empty"))])]).conf
    found = routes(text, "h.test")
    assert found['= "/gone"'] == found['= "/idle"'] == "return 503;"
    assert found['"/"'] == "return 404;"  # no rule for /: the default backend
    assert "10.244.0.9" not in text  # not ready: never a backend


def test_an_unknown_host_goes_to_the_default_server_404_or_the_oldest_default_backend(
        ) -> None:
    plain = conf([ingress("x", [rule("h.test", ("/", "Prefix", "a"))])]).conf
    assert "listen 80 default_server reuseport backlog=4096;" in server_block(plain, "_")
    assert "listen 80;" in server_block(plain, "h.test")  # reuseport: once per port
    assert routes(plain, "_") == {'"/"': "return 404;"}
    backed = ingress("y", [], defaultBackend={"service": {"name": "b", "port": {"number": 80}}})
    assert routes(conf([backed]).conf, "_") == {'"/"': "proxy_pass http://default_b_80;"}


def test_a_wildcard_host_covers_exactly_one_label() -> None:
    text = conf([ingress("x", [rule("*.foo.test", ("/", "Prefix", "a"))])]).conf
    name = re.search(r"server_name ~(\S+);", text)
    assert name is not None
    pattern = re.compile(name.group(1))
    assert pattern.match("bar.foo.test") and not pattern.match("a.bar.foo.test")
    assert not pattern.match("foo.test")


def test_other_classes_are_not_served_and_the_oldest_comes_first() -> None:
    other = ingress("o", [])
    other["spec"]["ingressClassName"] = "traefik"
    legacy = ingress("l", [], "2026-01-03T00:00:00Z")
    del legacy["spec"]["ingressClassName"]
    old = ingress("a", [], "2026-01-02T00:00:00Z")
    assert [i["metadata"]["name"] for i in served([other, legacy, old])] == ["a", "l"]


def test_paths_are_quoted_and_control_characters_left_out() -> None:
    text = conf([ingress("x", [rule("h.test", ('/a"; } evil {', "ImplementationSpecific", "a"),
                                    ("/b\n}", "ImplementationSpecific", "a"))])]).conf
    assert 'location "/a\\"; } evil {" {' in text
    assert "/b\n" not in text


def test_tls_uses_a_usable_secret_and_redirects_plain_http() -> None:
    crt, key = _pair("h.test")
    secret = {"kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "tls", "namespace": "default"},
              "data": {"tls.crt": base64.b64encode(crt).decode(),
                       "tls.key": base64.b64encode(key).decode()}}
    ing = ingress("x", [rule("h.test", ("/", "Prefix", "a")), rule("o.test")],
                  tls=[{"hosts": ["h.test"], "secretName": "tls"}])
    rendered = conf([ing], [secret], Ports(8080, 8443))
    block = server_block(rendered.conf, "h.test")
    cert = re.search(r"ssl_certificate /etc/podctl-ingress/certs/(\S+);", block)
    assert cert is not None and rendered.certs[cert.group(1)].startswith(crt)
    assert "return 308 https://$host:8443$request_uri;" in block
    assert "listen 8080;" in block and "listen 8443 ssl http2;" in block
    assert "default-" in server_block(rendered.conf, "o.test")  # no TLS of its own


def test_a_secret_nginx_could_not_load_is_passed_over() -> None:
    crt, _ = _pair("h.test")
    _, other_key = _pair("h.test")
    assert not usable_pair(crt, other_key)
    assert not usable_pair(b"not a certificate", b"")
    secret = {"kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "tls", "namespace": "default"},
              "data": {"tls.crt": base64.b64encode(crt).decode(),
                       "tls.key": base64.b64encode(other_key).decode()}}
    ing = ingress("x", [rule("h.test", ("/", "Prefix", "a"))],
                  tls=[{"hosts": ["h.test"], "secretName": "tls"}])
    block = server_block(conf([ing], [secret]).conf, "h.test")
    assert "certs/default-" in block and "return 308" not in block


def _pair(host: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def test_a_port_another_program_holds_is_reported() -> None:
    import socket

    from podctl.controllers.ingress import taken_ports

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        held = holder.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("0.0.0.0", 0))
            free = probe.getsockname()[1]
        assert taken_ports(Ports(held, free)) == [held]
