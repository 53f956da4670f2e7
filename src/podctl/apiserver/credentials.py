"""The API's secrets in $PODCTL_HOME: the bearer token, the self-signed CA, the server
certificate and users' client certificates it signs, the address a running server announced, and the
kubeconfig that ties them together."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podctl.errors import PodctlError

TOKEN_FILE = "api-token"
CA_CERT = "api-ca.crt"
CA_KEY = "api-ca.key"
SERVER_CERT = "api-server.crt"
SERVER_KEY = "api-server.key"
ANNOUNCE_FILE = "api-server.json"
NAMES_FILE = "api-server.names"
NAME = "podctl"
DEFAULT_SERVER = "https://127.0.0.1:6443"


def _private_temp(path: Path, data: bytes) -> Path:
    """A new file beside `path` holding `data`, readable by its owner only from the start
    (mkstemp makes it 0600), flushed to disk."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` (the file a symlink names) with `data` in one step, mode 0600: no
    reader ever sees it half written or readable by others, whatever mode it had."""
    target = Path(os.path.realpath(path))
    temp = _private_temp(target, data)
    try:
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _create_private(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it exists (whoever came first wins); whether it was
    this call that wrote it."""
    temp = _private_temp(path, data)
    try:
        os.link(temp, path)
        return True
    except FileExistsError:
        return False
    finally:
        temp.unlink()


def token(home: Path) -> str:
    """This home's bearer token, made on first use; only its owner can read it."""
    path = home / TOKEN_FILE
    if not path.exists():
        _create_private(path, secrets.token_urlsafe(32).encode())
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)  # made by an older podctl, or loosened by hand
    return path.read_text().strip()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class TlsFiles:
    ca_cert: Path
    cert: Path
    key: Path


def ensure_tls(home: Path, host: str, extra: tuple[str, ...] = ()) -> TlsFiles:
    """A CA kept in the home (made once) and a server certificate it signs for `host`,
    loopback and `extra` (the names pods use); remade when one is not among its names."""
    files = TlsFiles(home / CA_CERT, home / SERVER_CERT, home / SERVER_KEY)
    names_file = home / NAMES_FILE
    wanted = sorted({host, "127.0.0.1", "localhost", *extra})
    if files.cert.exists() and names_file.exists() and \
            json.loads(names_file.read_text()) == wanted and files.ca_cert.exists():
        return files
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key, ca_cert = _ensure_ca(home)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podctl-apiserver")])
    cert = _certificate(x509, hashes, subject, ca_cert.subject, key.public_key(), ca_key,
                        ca=False, names=wanted)
    write_private(files.key, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    names_file.write_text(json.dumps(wanted))
    return files


def _ensure_ca(home: Path) -> tuple[Any, Any]:
    """The home's CA (key, certificate), made once: it signs the server's certificate and
    the users' client certificates, and the API trusts what it signs. One maker for the
    API and the pods' kube-root-ca.crt (identity.ensure_root_ca)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from podctl.api.identity import ensure_root_ca

    ca_cert = x509.load_pem_x509_certificate(ensure_root_ca(home))
    return (serialization.load_pem_private_key((home / CA_KEY).read_bytes(), None), ca_cert)


MAX_NAME_CHARS = 256
MAX_GROUPS = 32
CLIENT_DAYS = 365


def client_certificate(home: Path, user: str, groups: Sequence[str]) -> tuple[bytes, bytes]:
    """A client certificate (PEM) and its key for `user` in `groups`, signed by the home's
    CA: as upstream's x509 authenticator reads one, CN is the user and each O a group."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    check_subject(user, groups)
    ca_key, ca_cert = _ensure_ca(home)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
                        + [x509.NameAttribute(NameOID.COMMON_NAME, user)])
    cert = _certificate(x509, hashes, subject, ca_cert.subject, key.public_key(), ca_key,
                        ca=False, names=[], days=CLIENT_DAYS,
                        usage=[ExtendedKeyUsageOID.CLIENT_AUTH])
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def check_subject(user: str, groups: Sequence[str]) -> None:
    for value, what in [(user, "user"), *((g, "group") for g in groups)]:
        if not value or len(value) > MAX_NAME_CHARS or not value.isprintable():
            raise PodctlError(f'invalid {what} name "{value[:MAX_NAME_CHARS]}": 1 to '
                              f"{MAX_NAME_CHARS} printable characters")
    if len(groups) > MAX_GROUPS:
        raise PodctlError(f"too many groups: at most {MAX_GROUPS}")


def _certificate(x509: Any, hashes: Any, subject: Any, issuer: Any, public_key: Any,
                 signer: Any, *, ca: bool, names: list[str], days: int | None = None,
                 usage: list[Any] | None = None) -> Any:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=days or (3650 if ca else 825)))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    if names:
        alt = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(signer, hashes.SHA256())


def announce(home: Path, server: str, ca_file: Path | None) -> None:
    """Record where this home's API answers, for `podctl kubeconfig`."""
    data = {"server": server, "ca": str(ca_file) if ca_file else None, "pid": os.getpid()}
    (home / ANNOUNCE_FILE).write_text(json.dumps(data))


def kubeconfig(home: Path, user: str | None = None,
               groups: Sequence[str] = ()) -> dict[str, Any]:
    """A kubeconfig with cluster, user and context all named `podctl` (the admin token), or
    for `user` (a client certificate): user and context named `user@podctl`."""
    server, ca = DEFAULT_SERVER, None
    announced = home / ANNOUNCE_FILE
    if announced.exists():
        data = json.loads(announced.read_text())
        server, ca = data.get("server") or server, data.get("ca")
    cluster: dict[str, Any] = {"server": server}
    if ca and Path(ca).exists():
        cluster["certificate-authority-data"] = base64.b64encode(Path(ca).read_bytes()).decode()
    if user is None:
        name, credential = NAME, {"token": token(home)}
    elif server.startswith("http://"):
        raise PodctlError(f"a client certificate needs TLS, and the API serves {server} "
                          "(run-controller --api-no-tls): serve it with TLS, the default")
    else:
        cert, key = client_certificate(home, user, groups)
        name = f"{user}@{NAME}"
        credential = {"client-certificate-data": base64.b64encode(cert).decode(),
                      "client-key-data": base64.b64encode(key).decode()}
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": NAME, "cluster": cluster}],
        "users": [{"name": name, "user": credential}],
        "contexts": [{"name": name, "context": {"cluster": NAME, "user": name}}],
        "current-context": name,
    }


def merge_into(path: Path, ours: dict[str, Any]) -> None:
    """Merge our entries into the kubeconfig at `path` (made if missing) and make our
    context current. It holds a token: the file is left 0600 whatever mode it had, as
    kubectl writes kubeconfigs."""
    import yaml

    existing = yaml.safe_load(path.read_text()) if path.exists() else None
    merged = merge(existing if isinstance(existing, dict) else {}, ours)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, yaml.safe_dump(merged, sort_keys=False).encode())


def default_kubeconfig() -> Path:
    """Where kubectl reads and writes its config: $KUBECONFIG's first file, else
    ~/.kube/config."""
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return Path(paths[0]) if paths else Path.home() / ".kube" / "config"


def forget(path: Path, home: Path) -> bool:
    """Remove our cluster, users and contexts from the kubeconfig at `path` if they are this
    home's (its token), as `kind delete cluster` removes its own; whether they were."""
    import yaml

    token_file = home / TOKEN_FILE
    if not path.exists() or not token_file.exists():
        return False
    config = yaml.safe_load(path.read_text())
    mine = token_file.read_text().strip()
    if not isinstance(config, dict) or not any(
            u.get("name") == NAME and (u.get("user") or {}).get("token") == mine
            for u in config.get("users") or [] if isinstance(u, dict)):
        return False
    for section in ("clusters", "users", "contexts"):
        config[section] = [e for e in config.get(section) or []
                           if not _ours(str(e.get("name")))]
    if _ours(str(config.get("current-context"))):
        config["current-context"] = ""
    write_private(path, yaml.safe_dump(config, sort_keys=False).encode())
    return True


def _ours(name: str) -> bool:
    """The admin's entries and those of the users `kubeconfig --user` issued."""
    return name == NAME or name.endswith(f"@{NAME}")


def merge(existing: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """`existing` with our cluster, user and context put in place of any named the same,
    and ours made current."""
    merged = dict(existing or {})
    merged.setdefault("apiVersion", "v1")
    merged.setdefault("kind", "Config")
    for section in ("clusters", "users", "contexts"):
        names = {e["name"] for e in ours[section]}
        kept = [e for e in merged.get(section) or [] if e.get("name") not in names]
        merged[section] = kept + ours[section]
    merged["current-context"] = ours.get("current-context", NAME)
    return merged
