"""The controller's follow-up to a command's write when no controller runs: the same
handlers `run-controller` drains, drained here, once (podctl.driver.drain)."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.home import podctl_home
from podctl.leader import controller_running
from podctl.ops.deferred import PENDING, DockerWork
from podctl.store import Store

Key = tuple[str, str, str]
# What a stored object of these kinds asks of a controller at once: pods to make or stop
# (Jobs and CronJobs wait for one: see controller_hint), pods waiting for the object, a
# disruption budget's count of its pods (evictions read it), a quota's usage.
FOLLOWED = ("ReplicationController", "ReplicaSet", "Deployment", "DaemonSet", "StatefulSet",
            "ConfigMap", "Secret", "PodDisruptionBudget", "PersistentVolume",
            "PersistentVolumeClaim", "ResourceQuota")


def follow_up(store: Store, *keys: Key) -> bool:
    """With no controller running, do its work for `keys` (and what it leads to) here;
    True if done here."""
    if controller_running(podctl_home()):
        return False
    if keys:
        from podctl.driver import drain  # the controllers load only when needed

        drain(store, keys)
    return True


def after_write(store: Store, stored: Obj, docker: DockerWork, waits: str = PENDING) -> None:
    """The follow-up a stored (created or changed) object needs, when no controller runs."""
    keys = quotas_of(store, meta.namespace_of(stored)) if stored["kind"] in meta.NAMESPACED \
        else []
    if stored["kind"] in FOLLOWED:
        keys.append((str(stored["kind"]), meta.namespace_of(stored), meta.name_of(stored)))
    if keys:
        docker.run(lambda: follow_up(store, *keys), waits)


def quotas_of(store: Store, namespace: str) -> list[Key]:
    """The namespace's quotas: they count what is written or deleted there."""
    return [("ResourceQuota", namespace, meta.name_of(q))
            for q in store.list("ResourceQuota", namespace)]


def services_of(store: Store, namespace: str) -> list[Key]:
    """The namespace's Services: their Endpoints follow its pods."""
    return [("Service", namespace, meta.name_of(s)) for s in store.list("Service", namespace)]
