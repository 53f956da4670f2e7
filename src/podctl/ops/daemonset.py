"""CLI-side DaemonSet work when no controller runs: the controller's pass, here, once."""

from __future__ import annotations

from podctl.api import meta
from podctl.controllers.daemonset import sync_daemon_set
from podctl.controllers.deletion import finish_pods
from podctl.home import podctl_home
from podctl.kubelet.sync import sync_pod
from podctl.leader import controller_running
from podctl.store import Store


def reconcile_if_no_controller(store: Store, namespace: str, name: str) -> bool:
    """With no controller running, create or remove the DaemonSet's pod and start or stop
    its containers; True if done here."""
    if controller_running(podctl_home()):
        return False
    result = sync_daemon_set(store, namespace, name)
    for pod in result.created:
        sync_pod(store, namespace, meta.name_of(pod))
    list(finish_pods(store, result.deleting))
    if result.created or result.deleting:
        sync_daemon_set(store, namespace, name)  # status after the changes
    return True


def resync_all(store: Store) -> None:
    """The node changed (labels): every DaemonSet judges it again."""
    for ds in store.list("DaemonSet"):
        reconcile_if_no_controller(store, meta.namespace_of(ds), meta.name_of(ds))
