"""The ServiceAccount controller and the root CA publisher (upstream's
pkg/controller/serviceaccount and pkg/controller/certificates/rootcacertpublisher): every
live namespace has a `default` ServiceAccount (made again when deleted) and the
`kube-root-ca.crt` ConfigMap holding the CA pods verify the API with (put back when
changed or deleted)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from podctl import registry
from podctl.admission.serviceaccount import default_account, root_ca_configmap
from podctl.api import identity
from podctl.errors import AlreadyExists, Conflict, Forbidden, NotFound
from podctl.store import Store


def _live(store: Store, namespace: str) -> bool:
    ns = store.get("Namespace", "", namespace)
    return ns is not None and not ns["metadata"].get("deletionTimestamp")


def ensure_default_account(store: Store, namespace: str) -> bool:
    """The namespace's `default` ServiceAccount, made if missing; whether it was made."""
    if store.get("ServiceAccount", namespace, identity.DEFAULT_SA) is not None or \
            not _live(store, namespace):
        return False
    # A namespace being deleted refuses it (NamespaceLifecycle), as upstream's does.
    with contextlib.suppress(AlreadyExists, Forbidden, NotFound):
        registry.create(store, default_account(namespace))
        return True
    return False


def ensure_root_ca(store: Store, home: Path, namespace: str) -> bool:
    """`kube-root-ca.crt` made, or its data put back to the home's CA; whether it wrote."""
    if not _live(store, namespace):
        return False
    ca = identity.ensure_root_ca(home).decode()
    found = store.get("ConfigMap", namespace, identity.ROOT_CA_CONFIGMAP)
    wanted = root_ca_configmap(namespace, ca)
    with contextlib.suppress(AlreadyExists, Conflict, Forbidden, NotFound):
        if found is None:
            registry.create(store, wanted)
            return True
        if found.get("data") != wanted["data"] or found.get("binaryData"):
            updated = {**found, "data": wanted["data"]}
            updated.pop("binaryData", None)
            registry.update(store, updated)  # carries the resourceVersion it read
            return True
    return False


def ensure_namespace(store: Store, namespace: str) -> list[str]:
    """Both of a namespace's identity objects; what was written, for the log."""
    done = []
    if ensure_default_account(store, namespace):
        done.append(f"serviceaccount {namespace}/{identity.DEFAULT_SA} created")
    if ensure_root_ca(store, store.path.parent, namespace):
        done.append(f"configmap {namespace}/{identity.ROOT_CA_CONFIGMAP} published")
    return done
