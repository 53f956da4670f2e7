"""The ingress controller's proxy: nginx's configuration for a home's Ingresses (a pure
render of Ingresses, Services, Endpoints and TLS Secrets), and installing it.

nginx (Debian's, in podctl/ingress-nginx:1) and not HAProxy: its configuration says what an
Ingress says almost word for word — a `server` per host (exact names before wildcards, as
upstream orders hosts), `location = /p` for Exact, longest-prefix `location` for Prefix,
one certificate per `server` chosen by SNI — and it is what kind's recipe (ingress-nginx)
runs, so precedence and answers (404 from the default server, 503 for a backend without
endpoints, 308 to HTTPS for a TLS host) are ingress-nginx's. Its HUP reload starts
workers on the new configuration and lets the old ones finish their requests.

Precedence (ingress-nginx): for one host, an Exact path beats a Prefix one, the longest
Prefix wins, by path element (`/foo` matches `/foo` and `/foo/bar`, never `/foobar`: a
location `= /foo` and one `/foo/`); ImplementationSpecific is a plain nginx prefix (it
matches `/foobar`). A host or path that two Ingresses define goes to the older one. A
request for a host no rule names goes to the default server: the oldest Ingress's
`defaultBackend`, or 404. A host's requests no path matches go to its Ingress's
`defaultBackend`, or 404. Backends are the Service's ready endpoints (pod IPs), never its
cluster IP, so readiness is honoured; without one the answer is 503.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import time
from dataclasses import dataclass, field

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.proxy.apply import ProxyError
from podctl.runtime.client import docker_api, translate_errors

INGRESS_IMAGE = "podctl/ingress-nginx:1"
CONFIG_DIR = "/etc/podctl-ingress"
CERT_DIR = f"{CONFIG_DIR}/certs"
CLASS_NAME = "nginx"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
SSL_REDIRECT = "nginx.ingress.kubernetes.io/ssl-redirect"
CATCH_ALL = ""  # the rules without a host, and every host no rule names
# nginx is handed every path quoted; a control character could still end a directive.
_UNSAFE_PATH = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Ports:
    http: int = 80
    https: int = 443


@dataclass(frozen=True)
class Target:
    """Where a location sends requests: an upstream's servers, or `status` when none."""

    upstream: str = ""
    servers: tuple[str, ...] = ()
    status: int = 0  # 404 (no backend) or 503 (a backend without ready endpoints)


@dataclass
class Server:
    host: str
    locations: dict[tuple[str, str], Target] = field(default_factory=dict)
    default: Target | None = None  # what no location matches
    cert: str = ""  # the certificate's file name; "" for the default one
    redirect: bool = False


@dataclass(frozen=True)
class Rendered:
    conf: str
    certs: dict[str, bytes]  # file name (by content) -> PEM (certificate and key)


def served(ingresses: list[Obj]) -> list[Obj]:
    """The Ingresses this controller serves (class `nginx`, or none at all: `nginx` is the
    default class), oldest first, as ingress-nginx ranks them."""
    mine = []
    for ing in ingresses:
        klass = (ing.get("spec") or {}).get("ingressClassName") or \
            (ing["metadata"].get("annotations") or {}).get(CLASS_ANNOTATION) or CLASS_NAME
        if klass == CLASS_NAME and not ing["metadata"].get("deletionTimestamp"):
            mine.append(ing)
    return sorted(mine, key=lambda i: (i["metadata"].get("creationTimestamp") or "",
                                       meta.namespace_of(i), meta.name_of(i)))


class Backends:
    """Resolves an Ingress backend to a Target, over one read of Services and Endpoints."""

    def __init__(self, services: list[Obj], endpoints: list[Obj]) -> None:
        self.services = {(meta.namespace_of(s), meta.name_of(s)): s for s in services}
        self.endpoints = {(meta.namespace_of(e), meta.name_of(e)): e for e in endpoints}

    def target(self, namespace: str, backend: Obj | None) -> Target:
        service = (backend or {}).get("service")
        if not isinstance(service, dict):
            return Target(status=404 if backend is None else 503)
        svc = self.services.get((namespace, str(service.get("name", ""))))
        port = service.get("port") or {}
        spec = (svc or {}).get("spec") or {}
        if svc is None or spec.get("type") == "ExternalName":
            return Target(status=503)
        for sp in spec.get("ports") or []:
            if (port.get("number") and sp.get("port") == port["number"]) or \
                    (port.get("name") and sp.get("name") == port["name"]):
                servers = self._ready(namespace, meta.name_of(svc), sp)
                if not servers:
                    return Target(status=503)
                # "_" is in no object name: no two backends share an upstream by accident.
                name = f"{namespace}_{meta.name_of(svc)}_{sp.get('port')}"
                return Target(upstream=name, servers=servers)
        return Target(status=503)

    def _ready(self, namespace: str, name: str, port: Obj) -> tuple[str, ...]:
        subsets = (self.endpoints.get((namespace, name)) or {}).get("subsets") or []
        found = {f"{a['ip']}:{int(p['port'])}"
                 for subset in subsets for p in subset.get("ports") or []
                 if p.get("name", "") == port.get("name", "")
                 and p.get("protocol", "TCP") == "TCP"
                 for a in subset.get("addresses") or []}
        return tuple(sorted(found))


def locations(path_type: str, path: str) -> list[tuple[str, str]]:
    """The nginx locations (modifier, path) one Ingress path becomes."""
    if path_type == "Exact":
        return [("=", path)]
    if path_type == "Prefix":
        trimmed = path.rstrip("/")
        return [("", "/")] if not trimmed else [("=", trimmed), ("", trimmed + "/")]
    return [("", path or "/")]


def render(ingresses: list[Obj], services: list[Obj], endpoints: list[Obj],
           secrets: list[Obj], ports: Ports, default_cert: bytes) -> Rendered:
    """nginx's whole configuration for the Ingresses served (pure). `default_cert` (PEM
    certificate and key) answers TLS for hosts without a usable Secret."""
    backends = Backends(services, endpoints)
    tls = _certificates(secrets)
    servers: dict[str, Server] = {CATCH_ALL: Server(CATCH_ALL)}
    ordered = served(ingresses)
    # Exact paths first: an Exact path beats the exact location a Prefix path also makes.
    for exact_first in (True, False):
        for ing in ordered:
            _add_rules(servers, ing, backends, exact_first)
    for ing in ordered:
        _add_defaults(servers, ing, backends, tls)
    certs = {name: pem for name, pem in tls.values()}
    certs["default-" + _digest(default_cert)] = default_cert
    used = {s.cert for s in servers.values() if s.cert}
    certs = {name: pem for name, pem in certs.items()
             if name in used or name.startswith("default-")}
    return Rendered(_conf(servers, ports, "default-" + _digest(default_cert)), certs)


def _add_rules(servers: dict[str, Server], ing: Obj, backends: Backends,
               exact_first: bool) -> None:
    namespace = meta.namespace_of(ing)
    for rule in (ing.get("spec") or {}).get("rules") or []:
        host = str(rule.get("host") or CATCH_ALL)
        server = servers.setdefault(host, Server(host))
        for item in ((rule.get("http") or {}).get("paths") or []):
            path_type, path = str(item.get("pathType", "")), str(item.get("path") or "")
            if (path_type == "Exact") != exact_first or _UNSAFE_PATH.search(path):
                continue
            for loc in locations(path_type, path):
                if loc not in server.locations:
                    server.locations[loc] = backends.target(namespace, item.get("backend"))


def _add_defaults(servers: dict[str, Server], ing: Obj, backends: Backends,
                  tls: dict[tuple[str, str], tuple[str, bytes]]) -> None:
    """An Ingress's defaultBackend for its hosts (and, the oldest one's, for every host no
    rule names); its TLS hosts' certificates and redirect."""
    spec, namespace = ing.get("spec") or {}, meta.namespace_of(ing)
    default = backends.target(namespace, spec["defaultBackend"]) \
        if spec.get("defaultBackend") else None
    hosts = {str(r.get("host") or CATCH_ALL) for r in spec.get("rules") or []}
    if default is not None:
        hosts.add(CATCH_ALL)
    for host in hosts:
        if default is not None and servers[host].default is None:
            servers[host].default = default
    redirect = (ing["metadata"].get("annotations") or {}).get(SSL_REDIRECT, "true") != "false"
    for entry in spec.get("tls") or []:
        cert = tls.get((namespace, str(entry.get("secretName") or "")))
        for host in entry.get("hosts") or []:
            server = servers.get(str(host))
            if server is not None and cert is not None and not server.cert:
                server.cert, server.redirect = cert[0], redirect


def _certificates(secrets: list[Obj]) -> dict[tuple[str, str], tuple[str, bytes]]:
    """kubernetes.io/tls Secrets whose certificate and key nginx can load, by (namespace,
    name): the file name (by content) and the PEM."""
    found = {}
    for secret in secrets:
        if secret.get("type") != "kubernetes.io/tls":
            continue
        data = secret.get("data") or {}
        try:
            crt = base64.b64decode(data.get("tls.crt") or "", validate=True)
            key = base64.b64decode(data.get("tls.key") or "", validate=True)
        except ValueError:
            continue
        if usable_pair(crt, key):
            pem = crt.rstrip(b"\n") + b"\n" + key.rstrip(b"\n") + b"\n"
            found[(meta.namespace_of(secret), meta.name_of(secret))] = (_digest(pem), pem)
    return found


def usable_pair(crt: bytes, key: bytes) -> bool:
    """A PEM certificate and the private key of its public key: one nginx refuses would
    make it refuse the whole configuration, so such a Secret is passed over (the host
    answers with the default certificate, as ingress-nginx does)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(crt)
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError):
        return False
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.PEM
    return bool(cert.public_key().public_bytes(encoding, public)
                == private.public_key().public_bytes(encoding, public))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20] + ".pem"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _server_name(host: str) -> str:
    """A Kubernetes wildcard covers exactly one label: nginx's `*.x` would match more. Hosts
    are DNS names (validated), so neither form needs quoting."""
    if host.startswith("*."):
        return "~^[^.]+" + re.escape(host[1:]).replace("\\-", "-") + "$"
    return host


_HEAD = """\
# Written by podctl's ingress controller: a render of the home's Ingresses.
# The hot path is ingress-nginx's: a worker per core of the node, each accepting on its
# own socket (reuseport), no access log, responses passed on as they come (no buffering),
# and connections to the backends kept open between requests (an upstream's keepalive,
# HTTP/1.1 without a Connection header unless the client asks for an Upgrade).
worker_processes auto;
pid /run/nginx/nginx.pid;
error_log stderr notice;
# ingress-reload reads the master's verdict on a reload here.
error_log /run/nginx/error.log notice;
events {{
    multi_accept on;
    worker_connections 16384;
    use epoll;
}}
http {{
    access_log off;
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000;
    reset_timedout_connection on;
    server_names_hash_bucket_size 128;
    server_names_hash_max_size 8192;
    variables_hash_bucket_size 256;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    proxy_http_version 1.1;
    proxy_buffering off;
    proxy_connect_timeout 5s;
    proxy_read_timeout 60s;
    proxy_send_timeout 60s;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' '';
    }}
    proxy_set_header Host $host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header X-Request-ID $request_id;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Host $host;
    proxy_set_header X-Forwarded-Port $server_port;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Scheme $scheme;
"""


def _conf(servers: dict[str, Server], ports: Ports, default_cert: str) -> str:
    out = [_HEAD.format()]
    upstreams: dict[str, tuple[str, ...]] = {}
    for server in servers.values():
        for target in (*server.locations.values(), server.default):
            if target is not None and target.upstream:
                upstreams[target.upstream] = target.servers
    for name in sorted(upstreams):
        out.append(f"    upstream {name} {{\n")
        out.extend(f"        server {addr} max_fails=0;\n" for addr in upstreams[name])
        out.append("        keepalive 320;\n        keepalive_requests 10000;\n"
                   "        keepalive_timeout 60s;\n    }\n")
    # The catch-all first: it is the default server of both ports.
    for host in sorted(servers, key=lambda h: (h != CATCH_ALL, h.startswith("*."), h)):
        out.append(_server(servers[host], ports, default_cert))
    out.append("}\n")
    return "".join(out)


def _server(server: Server, ports: Ports, default_cert: str) -> str:
    # One socket per worker (reuseport) is an option of the port, so the default server's.
    default = " default_server reuseport backlog=4096" if server.host == CATCH_ALL else ""
    cert = f"{CERT_DIR}/{server.cert or default_cert}"
    lines = [f"    server {{\n        server_name {_server_name(server.host) or '_'};\n",
             f"        listen {ports.http}{default};\n",
             f"        listen {ports.https} ssl http2{default};\n",
             f"        ssl_certificate {cert};\n        ssl_certificate_key {cert};\n"]
    if server.redirect:
        port = "" if ports.https == 443 else f":{ports.https}"
        lines.append(f"        if ($scheme = http) {{\n            return 308 "
                     f"https://$host{port}$request_uri;\n        }}\n")
    locations = dict(server.locations)
    locations.setdefault(("", "/"), server.default or Target(status=404))
    for (modifier, path), target in sorted(locations.items()):
        where = f"{modifier} {_quote(path)}" if modifier else _quote(path)
        lines.append(f"        location {where} {{\n            {_action(target)}\n"
                     f"        }}\n")
    lines.append("    }\n")
    return "".join(lines)


def _action(target: Target) -> str:
    if target.upstream:
        return f"proxy_pass http://{target.upstream};"
    return f"return {target.status};"


def fake_certificate() -> bytes:
    """The certificate (and key) of hosts without their own, as ingress-nginx makes its
    "Kubernetes Ingress Controller Fake Certificate" at start."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme Co"),
                      x509.NameAttribute(NameOID.COMMON_NAME,
                                         "Kubernetes Ingress Controller Fake Certificate")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("ingress.local")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


# -- installing ---------------------------------------------------------------------------

VERDICT_WAIT = 15.0  # seconds: nginx -t and a reload, on a loaded machine
VERDICT_POLL = 0.05


def install(container_id: str, rendered: Rendered) -> str:
    """Copy the configuration and its certificates into the running proxy, whose watcher
    reloads nginx with them (no exec: a runc exec costs seconds on a loaded machine, a
    copy milliseconds); its verdict, read back: "reloaded" or "unchanged", ProxyError with
    nginx's one line when nginx would not take it."""
    conf = rendered.conf.encode()
    digest = conf_digest(rendered)
    # The certificates before the configuration that names them, `apply` last.
    files = {**{f"certs/{name}": pem for name, pem in rendered.certs.items()},
             "nginx.conf.new": conf, "apply": digest.encode()}
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, now
            tar.addfile(info, io.BytesIO(data))
    api = docker_api()
    with translate_errors():
        api.put_archive(container_id, CONFIG_DIR, buf.getvalue())
    deadline = time.monotonic() + VERDICT_WAIT
    while time.monotonic() < deadline:
        said, _, outcome = _verdict(container_id).partition(" ")
        if said == digest:
            result, _, complaint = outcome.partition(" ")
            if result == "error":
                raise ProxyError(complaint or "nginx refused the configuration")
            return result
        time.sleep(VERDICT_POLL)
    raise ProxyError(f"the ingress controller's proxy gave no verdict in {VERDICT_WAIT:.0f} s")


def conf_digest(rendered: Rendered) -> str:
    return hashlib.sha256(rendered.conf.encode()).hexdigest()


def _verdict(container_id: str) -> str:
    """The proxy's last verdict ("" before its first)."""
    from docker.errors import NotFound

    api = docker_api()
    try:
        with translate_errors():
            stream, _ = api.get_archive(container_id, f"{CONFIG_DIR}/verdict")
            data = b"".join(stream)
    except NotFound:
        return ""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile("verdict")
        return member.read(4096).decode(errors="replace").strip() if member else ""
