"""Nodes after a label change: pods waiting for one are scheduled again."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import bind_pending
from podctl.kubelet.sync import sync_pod
from podctl.store import Store


def retry_pending(store: Store) -> list[Obj]:
    """Schedule pods waiting for a node (after a label change) and start those that fit."""
    started = []
    for pod in store.list("Pod"):
        if not pod["spec"].get("nodeName") and bind_pending(store, pod):
            sync_pod(store, meta.namespace_of(pod), meta.name_of(pod))
            started.append(pod)
    return started
