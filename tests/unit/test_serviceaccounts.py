"""ServiceAccounts: the admission plugin, bound tokens (issue, verify, refresh), the
controller's default account and root CA ConfigMap, against a real store."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from podctl import registry
from podctl.admission.serviceaccount import MOUNT_PATH, TOKEN_SECONDS
from podctl.api import identity
from podctl.controllers import serviceaccounts
from podctl.errors import Forbidden
from podctl.printers.identity import describe_sa, sa_row
from podctl.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path)


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "a", "image": "busybox"}],
                     "initContainers": [{"name": "i", "image": "busybox"}], **spec}}


def account(store: Store, name: str, **fields: Any) -> dict[str, Any]:
    return registry.create(store, {"apiVersion": "v1", "kind": "ServiceAccount",
                                   "metadata": {"name": name, "namespace": "default"},
                                   **fields})


def test_a_pod_runs_as_default_with_the_token_volume_in_every_container(
        store: Store) -> None:
    stored = registry.create(store, pod("p"))
    spec = stored["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    [volume] = spec["volumes"]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == 21
    sources = volume["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS,
                                                  "path": "token"}}
    assert sources[1]["configMap"] == {"name": "kube-root-ca.crt",
                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == \
        "metadata.namespace"
    for container in spec["containers"] + spec["initContainers"]:
        assert container["volumeMounts"] == [
            {"name": volume["name"], "readOnly": True, "mountPath": MOUNT_PATH}]
    # With no controller running, the create made what the pod needs first.
    assert store.get("ServiceAccount", "default", "default") is not None
    ca = store.require("ConfigMap", "default", "kube-root-ca.crt")["data"]["ca.crt"]
    assert ca.startswith("-----BEGIN CERTIFICATE-----")


def test_a_missing_service_account_is_refused_with_upstreams_words(store: Store) -> None:
    with pytest.raises(Forbidden) as err:
        registry.create(store, pod("x", serviceAccountName="robot"))
    assert str(err.value) == ('pods "x" is forbidden: error looking up service account '
                              'default/robot: serviceaccount "robot" not found')
    assert store.get("Pod", "default", "x") is None


def test_automount_false_on_the_account_or_the_pod(store: Store) -> None:
    account(store, "quiet", automountServiceAccountToken=False)
    account(store, "loud")
    assert "volumes" not in registry.create(store, pod("a", serviceAccountName="quiet"))["spec"]
    # The pod's word wins over its account's.
    assert registry.create(store, pod("b", serviceAccountName="quiet",
                                      automountServiceAccountToken=True))["spec"]["volumes"]
    assert "volumes" not in registry.create(store, pod(
        "c", serviceAccountName="loud", automountServiceAccountToken=False))["spec"]
    # The deprecated spelling names the account too.
    assert registry.create(store, pod("d", serviceAccount="loud"))["spec"][
        "serviceAccountName"] == "loud"


def test_a_container_mounting_the_path_itself_keeps_its_own(store: Store) -> None:
    own = {"name": "mine", "mountPath": MOUNT_PATH}
    spec = registry.create(store, pod("p", volumes=[{"name": "mine", "emptyDir": {}}],
                                      containers=[{"name": "a", "image": "busybox",
                                                   "volumeMounts": [own]}]))["spec"]
    assert spec["containers"][0]["volumeMounts"] == [own]
    assert spec["initContainers"][0]["volumeMounts"][0]["mountPath"] == MOUNT_PATH


def test_tokens_carry_upstreams_claims_and_verify_only_here(store: Store,
                                                           tmp_path: Path) -> None:
    sa = account(store, "robot")
    token, exp = identity.issue(store.path.parent, sa, identity.API_AUDIENCES, 3600,
                                identity.Binding("p", "pod-uid", "node-1", "node-uid"))
    key = store.path.parent / identity.SIGNING_KEY
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    header, body, _ = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))[
        "alg"] == "RS256"
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert claims["iss"] == "https://kubernetes.default.svc.cluster.local"
    assert claims["sub"] == "system:serviceaccount:default:robot"
    assert claims["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert claims["kubernetes.io"] == {
        "namespace": "default", "serviceaccount": {"name": "robot", "uid": sa["metadata"]["uid"]},
        "pod": {"name": "p", "uid": "pod-uid"}, "node": {"name": "node-1", "uid": "node-uid"}}
    assert exp == claims["exp"]
    got = identity.verify(store.path.parent, token)
    assert got is not None and (got.namespace, got.name, got.pod_name) == \
        ("default", "robot", "p")
    # Another home's key, another audience, expiry: refused.
    other = tmp_path / "other"
    other.mkdir()
    assert identity.verify(other, token) is None
    custom, _ = identity.issue(store.path.parent, sa, ["vault"], 3600)
    assert identity.verify(store.path.parent, custom) is None
    assert identity.verify(store.path.parent, custom, ("vault",)) is not None
    old, _ = identity.issue(store.path.parent, sa, identity.API_AUDIENCES, 600,
                            now=time.time() - 601)
    assert identity.verify(store.path.parent, old) is None
    assert identity.verify(store.path.parent, token[:-4] + "AAAA") is None
    assert identity.verify(store.path.parent, "not-a-jwt") is None


def test_a_projected_token_is_renewed_after_80_percent_of_its_life(store: Store) -> None:
    sa = account(store, "robot")
    now = time.time()
    token, _ = identity.issue(store.path.parent, sa, identity.API_AUDIENCES, 1000, now=now)
    assert not identity.needs_refresh(token.encode(), now + 799)
    assert identity.needs_refresh(token.encode(), now + 800)
    assert identity.needs_refresh(b"garbage", now)


def test_the_controller_keeps_the_default_account_and_the_root_ca(store: Store) -> None:
    registry.create(store, {"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": "team"}})
    assert sorted(serviceaccounts.ensure_namespace(store, "team")) == [
        "configmap team/kube-root-ca.crt published",
        "serviceaccount team/default created"]
    assert serviceaccounts.ensure_namespace(store, "team") == []
    store.delete("ServiceAccount", "team", "default")
    registry.mutate(store, "ConfigMap", "team", "kube-root-ca.crt",
                    lambda cm: bool(cm["data"].update({"ca.crt": "forged"})) or True)
    assert sorted(serviceaccounts.ensure_namespace(store, "team")) == [
        "configmap team/kube-root-ca.crt published",
        "serviceaccount team/default created"]
    ca = (store.path.parent / identity.CA_CERT).read_text()
    assert store.require("ConfigMap", "team", "kube-root-ca.crt")["data"]["ca.crt"] == ca


def test_the_root_ca_is_made_once(tmp_path: Path) -> None:
    first = identity.ensure_root_ca(tmp_path)
    assert identity.ensure_root_ca(tmp_path) == first
    assert stat.S_IMODE(os.stat(tmp_path / identity.CA_KEY).st_mode) == 0o600


def test_get_and_describe_columns(store: Store) -> None:
    sa = account(store, "robot", secrets=[{"name": "s1"}, {"name": "s2"}],
                 imagePullSecrets=[{"name": "pull"}])
    now = datetime.now(UTC)
    assert sa_row(sa, now, False)[:2] == ["robot", "2"]
    assert describe_sa(sa, [], now) == (
        "Name:                robot\n"
        "Namespace:           default\n"
        "Labels:              <none>\n"
        "Annotations:         <none>\n"
        "Image pull secrets:  pull\n"
        "Mountable secrets:   s1\n"
        "                     s2\n"
        "Tokens:              <none>\n"
        "Events:              <none>\n")


def test_the_kubelet_writes_the_token_and_renews_it_only_when_due(store: Store) -> None:
    from podctl.kubelet.sync import projected_tokens
    from podctl.runtime import configvolumes

    stored = registry.create(store, pod("p"))
    home = store.path.parent
    cm = store.require("ConfigMap", "default", "kube-root-ca.crt")
    objects = {("ConfigMap", "kube-root-ca.crt"): cm}
    dirs = configvolumes.prepare(home, stored, objects, tokens=projected_tokens(store))
    [target] = [Path(d) for d in dirs.values()]
    token = (target / "token").read_bytes()
    assert (target / "namespace").read_text() == "default"
    assert (target / "ca.crt").read_text() == cm["data"]["ca.crt"]
    claims = identity.verify(home, token.decode())
    assert claims is not None and claims.pod_uid == stored["metadata"]["uid"]
    assert identity.unverified_times(token) is not None
    # The pod's next pass is due at 80% of the token's life (steady pods are not resynced).
    due = configvolumes.token_renewal_in(home, stored, time.time())
    assert due is not None and 0.8 * TOKEN_SECONDS - 5 < due <= 0.8 * TOKEN_SECONDS
    # Fresh: a pod sync keeps it.
    assert configvolumes.refresh(home, stored, objects, tokens=projected_tokens(store)) == []
    # Old (issued 3000 s ago for 3607 s): the next sync writes a new one.
    volume = stored["spec"]["volumes"][0]
    sa = store.require("ServiceAccount", "default", "default")
    aged, _ = identity.issue(home, sa, identity.API_AUDIENCES, TOKEN_SECONDS,
                             now=time.time() - 3000)
    configvolumes.write(target, {**(configvolumes._current(target) or {}),
                                 "token": configvolumes.File(aged.encode(), 0o644)})
    assert configvolumes.refresh(home, stored, objects, tokens=projected_tokens(store)) == [
        volume["name"]]
    assert (target / "token").read_bytes() not in (aged.encode(), token)
    assert configvolumes.token_renewal_in(home, stored, time.time() + 10 ** 6) == 1.0
    # A pod whose account is gone cannot get a token: the kubelet's FailedMount.
    store.delete("ServiceAccount", "default", "default")
    other = {**stored, "metadata": {**stored["metadata"], "uid": "other"}}
    with pytest.raises(configvolumes.MountError, match='failed to fetch token: '
                       'serviceaccounts "default" not found'):
        configvolumes.prepare(home, other, objects, tokens=projected_tokens(store))


def test_a_reapplied_pod_keeps_what_the_admission_added(store: Store) -> None:
    from podctl.manifest.update import merged

    stored = registry.create(store, pod("p"))
    desired = registry.validated(pod("p"), "default")  # the manifest again, a new image
    desired["spec"]["containers"][0]["image"] = "busybox:2"
    updated = merged(stored, desired)
    assert updated["spec"]["containers"][0]["image"] == "busybox:2"
    assert updated["spec"]["volumes"] == stored["spec"]["volumes"]
    assert updated["spec"]["containers"][0]["volumeMounts"] == \
        stored["spec"]["containers"][0]["volumeMounts"]
    assert updated["spec"]["serviceAccountName"] == "default"


def test_mirror_pods_are_left_alone(store: Store) -> None:
    mirror = pod("m")
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "m"}
    assert "volumes" not in registry.create(store, mirror)["spec"]
