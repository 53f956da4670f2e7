"""ServiceAccount (upstream's admission plugin of that name,
plugin/pkg/admission/serviceaccount): a new pod runs as `default` unless it names its
service account, which must exist; unless the pod or its service account turns
automountServiceAccountToken off, it gets the projected `kube-api-access-<5>` volume (a
bound token, the cluster's CA, its namespace) mounted read-only in every container at
/var/run/secrets/kubernetes.io/serviceaccount.

The default account and `kube-root-ca.crt` of a namespace are the ServiceAccount
controller's; with no controller running, a pod's create makes them first (prepare), so a
pod needs no running controller to be admitted, as every other podctl write."""

from __future__ import annotations

import contextlib
import random

from podctl.admission import CREATE, Attributes, Plugin
from podctl.api import identity, meta
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, Forbidden
from podctl.store import Snapshot, Store

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
TOKEN_SECONDS = 3607  # what upstream's plugin asks: a marker the API server recognises
DEFAULT_MODE = 0o644
# The publisher's description, as upstream's rootcacertpublisher annotates its ConfigMap.
ROOT_CA_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver "
                       "when using internal endpoints such as the internal service IP or "
                       "kubernetes.default.svc. No other usage is guaranteed across "
                       "distributions of Kubernetes clusters.")


def default_account(namespace: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": identity.DEFAULT_SA, "namespace": namespace}}


def root_ca_configmap(namespace: str, ca: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": identity.ROOT_CA_CONFIGMAP, "namespace": namespace,
                         "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
            "data": {identity.ROOT_CA_KEY: ca}}


def bootstrap(store: Store, namespace: str) -> None:
    """The namespace's default account and root CA ConfigMap, stored directly when missing
    (the controller's objects, made ahead of it)."""
    ns = store.get("Namespace", "", namespace)
    if ns is None or ns["metadata"].get("deletionTimestamp"):
        return
    wanted = []
    if store.get("ServiceAccount", namespace, identity.DEFAULT_SA) is None:
        wanted.append(default_account(namespace))
    if store.get("ConfigMap", namespace, identity.ROOT_CA_CONFIGMAP) is None:
        ca = identity.ensure_root_ca(store.path.parent).decode()
        wanted.append(root_ca_configmap(namespace, ca))
    for obj in wanted:
        with contextlib.suppress(AlreadyExists):
            store.create(obj)


def token_volume(name: str) -> Obj:
    return {"name": name, "projected": {"defaultMode": DEFAULT_MODE, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
        {"configMap": {"name": identity.ROOT_CA_CONFIGMAP,
                       "items": [{"key": identity.ROOT_CA_KEY, "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}


def automounts(pod: Obj, account: Obj) -> bool:
    """The pod's choice first, then its service account's; on unless one says false."""
    chosen = pod["spec"].get("automountServiceAccountToken")
    if chosen is None:
        chosen = account.get("automountServiceAccountToken")
    return chosen is not False


def mount_token(spec: Obj, rng: random.Random | None = None) -> None:
    """Add the token volume and mount it where no container mounts something already."""
    names = {v.get("name") for v in spec.get("volumes") or []}
    pick = rng or random.SystemRandom()
    while True:
        name = VOLUME_PREFIX + "".join(pick.choice(meta.NAME_ALPHABET) for _ in range(5))
        if name not in names:
            break
    containers = [c for key in ("initContainers", "containers", "ephemeralContainers")
                  for c in spec.get(key) or []]
    mounting = [c for c in containers if not any(
        m.get("mountPath") == MOUNT_PATH for m in c.get("volumeMounts") or [])]
    if not mounting:
        return
    spec.setdefault("volumes", []).append(token_volume(name))
    for container in mounting:
        container.setdefault("volumeMounts", []).append(
            {"name": name, "readOnly": True, "mountPath": MOUNT_PATH})


class ServiceAccountAdmission(Plugin):
    name = "ServiceAccount"

    def __init__(self, store: Store | None = None) -> None:
        self.store = store

    @classmethod
    def for_store(cls, store: Store) -> ServiceAccountAdmission:
        return cls(store)

    def handles(self, attrs: Attributes) -> bool:
        # Mirror pods (a kubelet's static pods) are left as they are, as upstream's plugin
        # leaves them (they may not use service accounts).
        return attrs.kind == "Pod" and attrs.operation == CREATE and MIRROR_ANNOTATION not in (
            ((attrs.obj or {}).get("metadata") or {}).get("annotations") or {})

    def prepare(self, attrs: Attributes) -> None:
        assert attrs.obj is not None
        spec = attrs.obj.get("spec") or {}
        named = spec.get("serviceAccountName") or spec.get("serviceAccount")
        if named in (None, "", identity.DEFAULT_SA) and self.store is not None:
            bootstrap(self.store, attrs.namespace)

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        pod = attrs.obj
        assert pod is not None
        spec = pod.setdefault("spec", {})
        # serviceAccount is the field's deprecated spelling: either fills the other.
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or \
            identity.DEFAULT_SA
        spec["serviceAccountName"] = spec["serviceAccount"] = name
        account = view.get("ServiceAccount", attrs.namespace, name)
        if account is None:
            raise Forbidden(f'pods "{attrs.name}" is forbidden: error looking up service '
                            f'account {attrs.namespace}/{name}: serviceaccount "{name}" '
                            "not found")
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": s.get("name", "")}
                                        for s in account["imagePullSecrets"]]
        if automounts(pod, account):
            mount_token(spec)
