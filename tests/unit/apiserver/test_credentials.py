"""The API's token, certificates and kubeconfig in $PODCTL_HOME, and the bundled OpenAPI."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from podctl.apiserver import credentials, openapi
from podctl.apiserver.server import check_bind, parse_address
from podctl.errors import PodctlError

ROOT = Path(__file__).resolve().parents[3]


def test_token_is_made_once_and_private(tmp_path: Path) -> None:
    first = credentials.token(tmp_path)
    assert len(first) >= 40 and credentials.token(tmp_path) == first
    assert (tmp_path / credentials.TOKEN_FILE).stat().st_mode & 0o077 == 0


def test_kubeconfig_names_everything_podctl_and_carries_the_ca(tmp_path: Path) -> None:
    files = credentials.ensure_tls(tmp_path, "127.0.0.1")
    credentials.announce(tmp_path, "https://127.0.0.1:7443", files.ca_cert)
    config = credentials.kubeconfig(tmp_path)
    assert config["current-context"] == "podctl"
    cluster = config["clusters"][0]
    assert cluster["name"] == "podctl" and cluster["cluster"]["server"] == \
        "https://127.0.0.1:7443"
    ca = base64.b64decode(cluster["cluster"]["certificate-authority-data"]).decode()
    # The CA verifies the server certificate for the bound address.
    context = ssl.create_default_context(cadata=ca)
    context.load_cert_chain(files.cert, files.key)
    assert config["users"][0]["user"]["token"] == credentials.token(tmp_path)
    assert config["contexts"][0] == {"name": "podctl",
                                     "context": {"cluster": "podctl", "user": "podctl"}}


def test_merge_replaces_our_entries_and_keeps_the_others() -> None:
    ours = {"clusters": [{"name": "podctl", "cluster": {"server": "https://new"}}],
            "users": [{"name": "podctl", "user": {"token": "t"}}],
            "contexts": [{"name": "podctl", "context": {"cluster": "podctl", "user": "podctl"}}]}
    existing = {"apiVersion": "v1", "kind": "Config", "current-context": "work",
                "clusters": [{"name": "work", "cluster": {"server": "https://work"}},
                             {"name": "podctl", "cluster": {"server": "https://old"}}],
                "users": [], "contexts": [{"name": "work", "context": {}}]}
    merged = credentials.merge(existing, ours)
    assert [c["name"] for c in merged["clusters"]] == ["work", "podctl"]
    assert merged["clusters"][1]["cluster"]["server"] == "https://new"
    assert [c["name"] for c in merged["contexts"]] == ["work", "podctl"]
    assert merged["current-context"] == "podctl"


def test_binds_beyond_loopback_need_tls() -> None:
    check_bind("127.0.0.1", tls=False)
    check_bind("::1", tls=False)
    check_bind("0.0.0.0", tls=True)
    with pytest.raises(PodctlError, match=r"refusing to serve the API on 0\.0\.0\.0 without TLS"):
        check_bind("0.0.0.0", tls=False)
    assert parse_address("127.0.0.1:6443") == ("127.0.0.1", 6443)
    assert parse_address("[::1]:0") == ("::1", 0)
    with pytest.raises(PodctlError):
        parse_address("nonsense")


def test_openapi_documents_name_every_kind_and_field_validation() -> None:
    doc = json.loads(openapi.group_version_document("v1"))
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1",
                                                         "kind": "Pod"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    root = openapi.root()["paths"]
    assert set(root) == {"api/v1", "apis/apps/v1", "apis/events.k8s.io/v1", "apis/batch/v1",
                         "apis/discovery.k8s.io/v1", "apis/coordination.k8s.io/v1",
                         "apis/policy/v1", "apis/storage.k8s.io/v1",
                         "apis/rbac.authorization.k8s.io/v1", "apis/authorization.k8s.io/v1",
                         "apis/authentication.k8s.io/v1",
                         "apis/networking.k8s.io/v1", "apis/apiextensions.k8s.io/v1",
                         "apis/autoscaling/v2", "apis/autoscaling/v1"}
    assert root["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")
    containers = doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"][
        "containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    v2 = json.loads(openapi.v2_document())
    assert v2["swagger"] == "2.0" and "#/components/" not in json.dumps(v2["definitions"])


@pytest.mark.skipif(importlib.util.find_spec("kubernetes_validate") is None,
                    reason="dev-time input kubernetes-validate is not installed")
def test_generator_reproduces_the_openapi_bundle(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    subprocess.run([sys.executable, str(ROOT / "tools" / "gen_schemas.py"), "--out",
                    str(tmp_path / "schema.json"), "--openapi-out", str(out)],
                   check=True, capture_output=True)
    assert json.loads(out.read_text()) == json.loads(openapi.BUNDLE.read_text())


def test_secrets_are_private_from_their_first_byte(tmp_path: Path) -> None:
    # A umask that would make every new file world-readable: the secrets must not care.
    old = os.umask(0o022)
    try:
        credentials.ensure_tls(tmp_path, "127.0.0.1")
        credentials.token(tmp_path)
    finally:
        os.umask(old)
    for name in (credentials.TOKEN_FILE, credentials.CA_KEY, credentials.SERVER_KEY):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    # No temporary file is left beside them.
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_loosened_token_file_is_tightened(tmp_path: Path) -> None:
    first = credentials.token(tmp_path)
    (tmp_path / credentials.TOKEN_FILE).chmod(0o644)
    assert credentials.token(tmp_path) == first
    assert (tmp_path / credentials.TOKEN_FILE).stat().st_mode & 0o777 == 0o600


def test_concurrent_first_uses_agree_on_one_token(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        tokens = set(pool.map(lambda _: credentials.token(tmp_path), range(32)))
    assert len(tokens) == 1


def test_merge_into_a_world_readable_kubeconfig_leaves_it_0600(tmp_path: Path) -> None:
    import yaml

    real = tmp_path / "real-config"
    real.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config",
                                    "current-context": "work", "clusters": [], "users": [],
                                    "contexts": [{"name": "work", "context": {}}]}))
    real.chmod(0o644)
    link = tmp_path / "config"
    link.symlink_to(real)
    credentials.merge_into(link, credentials.kubeconfig(tmp_path))
    assert link.is_symlink()  # the file it names is what changed
    assert real.stat().st_mode & 0o777 == 0o600
    merged = yaml.safe_load(real.read_text())
    assert [c["name"] for c in merged["contexts"]] == ["work", "podctl"]
    assert merged["current-context"] == "podctl"


def test_a_users_kubeconfig_carries_a_client_certificate_of_the_homes_ca(
        tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    files = credentials.ensure_tls(tmp_path, "127.0.0.1")
    credentials.announce(tmp_path, "https://127.0.0.1:7443", files.ca_cert)
    config = credentials.kubeconfig(tmp_path, "alice", ["dev", "ops"])
    assert config["current-context"] == "alice@podctl"
    assert config["contexts"] == [{"name": "alice@podctl",
                                   "context": {"cluster": "podctl", "user": "alice@podctl"}}]
    user = config["users"][0]["user"]
    assert "token" not in user
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert [a.value for a in cert.subject.get_attributes_for_oid(
        NameOID.ORGANIZATION_NAME)] == ["dev", "ops"]
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == \
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    # The key is the certificate's.
    context = ssl.create_default_context()
    (tmp_path / "k").write_bytes(base64.b64decode(user["client-key-data"]))
    (tmp_path / "c").write_bytes(base64.b64decode(user["client-certificate-data"]))
    context.load_cert_chain(tmp_path / "c", tmp_path / "k")


@pytest.mark.parametrize(("user", "groups"), [
    ("", []), ("a" * 257, []), ("bob", [""]), ("bob", ["x\n"]), ("bob", ["g"] * 33)])
def test_client_certificate_names_are_bounded(tmp_path: Path, user: str,
                                              groups: list[str]) -> None:
    with pytest.raises(PodctlError):
        credentials.client_certificate(tmp_path, user, groups)
    assert not (tmp_path / credentials.CA_KEY).exists()


def test_users_merge_beside_the_admin_and_are_forgotten_with_it(tmp_path: Path) -> None:
    path = tmp_path / "config"
    credentials.merge_into(path, credentials.kubeconfig(tmp_path))
    credentials.merge_into(path, credentials.kubeconfig(tmp_path, "alice"))
    import yaml

    merged = yaml.safe_load(path.read_text())
    assert [u["name"] for u in merged["users"]] == ["podctl", "alice@podctl"]
    assert [c["name"] for c in merged["clusters"]] == ["podctl"]
    assert merged["current-context"] == "alice@podctl"
    assert credentials.forget(path, tmp_path)
    left = yaml.safe_load(path.read_text())
    assert (left["users"], left["contexts"], left["current-context"]) == ([], [], "")


def test_a_users_certificate_is_refused_for_an_api_without_tls(tmp_path: Path) -> None:
    credentials.announce(tmp_path, "http://127.0.0.1:7443", None)
    with pytest.raises(PodctlError, match="a client certificate needs TLS"):
        credentials.kubeconfig(tmp_path, "alice")
    assert credentials.kubeconfig(tmp_path)["users"][0]["user"]["token"]
