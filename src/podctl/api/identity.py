"""ServiceAccount identities and their bound tokens, as upstream's pkg/serviceaccount: JWTs
signed RS256 by a key kept in the home (made once, owner-only), with the claims the API
server writes (iss, sub, aud, exp, iat, nbf, jti and `kubernetes.io`: namespace, the
service account, and the pod and node the token is bound to). The API checks them
(`verify`), then that what they name still exists (`Claims.bound_to`).

Also the home's root CA (the one the API's serving certificate is signed by): pods get it
as `ca.crt` through the `kube-root-ca.crt` ConfigMap of every namespace."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

from podctl.api.meta import Obj

ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = (ISSUER,)  # the API server's own audience (upstream's --api-audiences default)
SIGNING_KEY = "sa-signing.key"
CA_CERT = "api-ca.crt"  # the API's CA (apiserver.credentials writes the serving certificate)
CA_KEY = "api-ca.key"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
ROOT_CA_KEY = "ca.crt"
DEFAULT_SA = "default"
PREFIX = "system:serviceaccount:"
ALL_GROUP = "system:serviceaccounts"
DEFAULT_SECONDS = 3600  # TokenRequest's default expirationSeconds
MIN_SECONDS = 600  # upstream refuses shorter ones
MAX_SECONDS = 2 ** 32  # a duration no token should outlive; longer asks are capped
REFRESH_AT = 0.8  # the kubelet renews a projected token after 80% of its life
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name"
EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"


def username(namespace: str, name: str) -> str:
    return f"{PREFIX}{namespace}:{name}"


def groups(namespace: str) -> tuple[str, str]:
    return ALL_GROUP, f"{ALL_GROUP}:{namespace}"


def _create_private(path: Path, data: bytes) -> None:
    """`data` at `path`, 0600 from the start, unless another writer came first."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another writer came first
            os.link(name, path)
    finally:
        os.unlink(name)


@functools.lru_cache(maxsize=8)
def _keys(path: Path, mtime_ns: int) -> tuple[Any, Any, str]:
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(path.read_bytes(), None)
    public = private.public_key()
    der = public.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    # The key id as upstream derives it: the public key's SHA-256, base64url.
    kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    return private, public, kid


def signing_keys(home: Path) -> tuple[Any, Any, str]:
    """The home's token signing key (RSA 2048, made on first use), its public half and its
    key id."""
    path = home / SIGNING_KEY
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _create_private(path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    return _keys(path, path.stat().st_mtime_ns)


def check_expiration(name: str, seconds: int) -> None:
    """TokenRequest's validation of expirationSeconds."""
    from podctl.errors import Invalid

    if seconds < MIN_SECONDS:
        raise Invalid(f'TokenRequest.authentication.k8s.io "{name}" is invalid: '
                      f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a "
                      "duration less than 10 minutes")
    if seconds > MAX_SECONDS:
        raise Invalid(f'TokenRequest.authentication.k8s.io "{name}" is invalid: '
                      f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a "
                      "duration larger than 2^32 seconds")


class Binding(NamedTuple):
    """What a token is bound to besides its service account (upstream's bound object
    reference): a pod (and the node it runs on), or nothing."""

    pod_name: str = ""
    pod_uid: str = ""
    node_name: str = ""
    node_uid: str = ""


def issue(home: Path, sa: Obj, audiences: list[str] | tuple[str, ...], seconds: int,
          binding: Binding | None = None, now: float | None = None) -> tuple[str, int]:
    """A signed token for `sa` and its expiry (Unix seconds)."""
    import jwt

    private, _, kid = signing_keys(home)
    binding = binding or Binding()
    md = sa["metadata"]
    issued = int(now if now is not None else time.time())
    private_claims: Obj = {"namespace": md["namespace"],
                           "serviceaccount": {"name": md["name"], "uid": md["uid"]}}
    if binding.pod_name:
        private_claims["pod"] = {"name": binding.pod_name, "uid": binding.pod_uid}
    if binding.node_name:
        private_claims["node"] = {"name": binding.node_name, "uid": binding.node_uid}
    claims = {"aud": list(audiences), "exp": issued + seconds, "iat": issued,
              "iss": ISSUER, "jti": str(uuid.uuid4()), "kubernetes.io": private_claims,
              "nbf": issued, "sub": username(md["namespace"], md["name"])}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid}), \
        issued + seconds


class Claims(NamedTuple):
    namespace: str
    name: str
    uid: str
    pod_name: str
    pod_uid: str
    node_name: str
    jti: str
    audiences: tuple[str, ...]
    expires: float = 0.0  # exp, Unix seconds


def verify(home: Path, token: str, audiences: tuple[str, ...] = API_AUDIENCES
           ) -> Claims | None:
    """The claims of a token this home signed, unexpired, for one of `audiences`; None for
    anything else (another home's key, a forged or expired token, another audience)."""
    import jwt

    if token.count(".") != 2:
        return None
    _, public, _ = signing_keys(home)
    try:
        claims = jwt.decode(token, public, algorithms=["RS256"], audience=list(audiences),
                            issuer=ISSUER, options={"require": ["exp", "sub", "aud"]})
    except jwt.PyJWTError:
        return None
    private = claims.get("kubernetes.io")
    if not isinstance(private, dict):
        return None
    sa, pod, node = (private.get(k) or {} for k in ("serviceaccount", "pod", "node"))
    if not all(isinstance(x, dict) for x in (sa, pod, node)):
        return None
    namespace, name = str(private.get("namespace") or ""), str(sa.get("name") or "")
    if not namespace or not name or claims.get("sub") != username(namespace, name):
        return None
    aud = claims["aud"]
    return Claims(namespace, name, str(sa.get("uid") or ""), str(pod.get("name") or ""),
                  str(pod.get("uid") or ""), str(node.get("name") or ""),
                  str(claims.get("jti") or ""),
                  tuple(aud) if isinstance(aud, list) else (str(aud),), float(claims["exp"]))


def unverified_times(token: bytes) -> tuple[int, int] | None:
    """(iat, exp) of a token the kubelet wrote earlier, read without checking it: only to
    know when to renew it."""
    import json

    try:
        part = token.split(b".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4)))
        return int(claims["iat"]), int(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def needs_refresh(token: bytes, now: float) -> bool:
    """Whether a projected token has lived 80% of its life (or cannot be read)."""
    times = unverified_times(token)
    if times is None:
        return True
    iat, exp = times
    return now >= iat + REFRESH_AT * (exp - iat)


def ensure_root_ca(home: Path) -> bytes:
    """The home's CA certificate (PEM), made on first use: the API's serving certificate
    is signed by it, and pods verify the API with it."""
    cert_path, key_path = home / CA_CERT, home / CA_KEY
    if not (cert_path.exists() and key_path.exists()):
        from datetime import UTC, datetime, timedelta

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podctl-ca")])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                               critical=True)
                .sign(key, hashes.SHA256()))
        # The key first: whoever links it first wins, and the certificate follows its key.
        _create_private(key_path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        stored = serialization.load_pem_private_key(key_path.read_bytes(), None)
        if stored.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
                == key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
            tmp = cert_path.with_name(f".{cert_path.name}.{os.getpid()}")
            tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            os.replace(tmp, cert_path)
        else:
            deadline = time.monotonic() + 5
            while not cert_path.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
    return cert_path.read_bytes()
