"""CLI-side DaemonSet work when no controller runs: the controller's pass, here, once."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.daemonset import sync_daemon_set
from podctl.controllers.deletion import finish_pods
from podctl.controllers.slowstart import OwnerControl
from podctl.errors import PodctlError
from podctl.home import podctl_home
from podctl.kubelet.sync import sync_pod
from podctl.leader import controller_running
from podctl.store import Store


def reconcile_if_no_controller(store: Store, namespace: str, name: str) -> bool:
    """With no controller running, create or remove the DaemonSet's pod and start or stop
    its containers; True if done here."""
    if controller_running(podctl_home()):
        return False
    control = OwnerControl()  # its expectations keep the second pass to the status
    result = sync_daemon_set(store, namespace, name, control)
    for pod in result.created:
        sync_pod(store, namespace, meta.name_of(pod))
    list(finish_pods(store, result.deleting))
    if result.created or result.deleting:
        sync_daemon_set(store, namespace, name, control)  # status after the changes
    return True


def rollout_status_line(ds: Obj) -> tuple[str, bool]:
    """kubectl's status line for a DaemonSet and whether its rollout is over."""
    name, status = meta.name_of(ds), ds.get("status") or {}
    if (ds["spec"].get("updateStrategy") or {}).get("type") == "OnDelete":
        raise PodctlError("rollout status is only available for RollingUpdate strategy type")
    if int(ds["metadata"].get("generation", 1)) > int(status.get("observedGeneration", 0)):
        return "Waiting for daemon set spec update to be observed...", False
    desired = int(status.get("desiredNumberScheduled", 0))
    updated = int(status.get("updatedNumberScheduled", 0))
    available = int(status.get("numberAvailable", 0))
    waiting = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return f"{waiting}{updated} out of {desired} new pods have been updated...", False
    if available < desired:
        return f"{waiting}{available} of {desired} updated pods are available...", False
    return f'daemon set "{name}" successfully rolled out', True


def resync_all(store: Store) -> None:
    """The node changed (labels): every DaemonSet judges it again."""
    for ds in store.list("DaemonSet"):
        reconcile_if_no_controller(store, meta.namespace_of(ds), meta.name_of(ds))
