"""CLI-side replication controller operations: reconcile at once when no controller runs,
scale, and delete with kubectl's cascade modes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.rc_sync import set_controller_ref, sync_rc
from podctl.errors import PodctlError
from podctl.home import podctl_home
from podctl.kubelet.sync import sync_pod
from podctl.leader import controller_running
from podctl.locks import file_lock
from podctl.ops.deferred import NOT_STOPPED, PENDING, DockerWork
from podctl.ops.delete import finish_deletions, mark_deleting
from podctl.store import Store

CASCADES = ("background", "foreground", "orphan")


def reconcile_if_no_controller(store: Store, namespace: str, name: str) -> bool:
    """With no controller running, do its job for this RC once, here; True if done."""
    if controller_running(podctl_home()):
        return False
    result = sync_rc(store, namespace, name)
    if result.created:
        with ThreadPoolExecutor(max_workers=min(8, len(result.created))) as pool:
            list(pool.map(lambda p: sync_pod(store, namespace, meta.name_of(p)),
                          result.created))
    list(finish_deletions(store, result.deleting))
    if result.created or result.deleting:
        sync_rc(store, namespace, name)  # status after the changes
    return True


def scale(store: Store, namespace: str, name: str, replicas: int, docker: DockerWork) -> str:
    if replicas < 0:
        raise PodctlError("The --replicas=COUNT flag is required, and COUNT must be "
                          "greater than or equal to 0")
    rc = store.require("ReplicationController", namespace, name)
    shrinking = replicas < int(rc["spec"].get("replicas") or 0)
    if rc["spec"].get("replicas") != replicas:
        rc["spec"]["replicas"] = replicas
        rc["metadata"]["generation"] = int(rc["metadata"].get("generation", 1)) + 1
        store.update(rc)
    docker.run(lambda: reconcile_if_no_controller(store, namespace, name),
               NOT_STOPPED if shrinking else PENDING)
    return f"replicationcontroller/{name} scaled"


def owned_pods(store: Store, rc: Obj) -> list[Obj]:
    uid = meta.uid_of(rc)
    return [p for p in store.list("Pod", meta.namespace_of(rc))
            if (meta.controller_of(p) or {}).get("uid") == uid]


def delete_rc(store: Store, namespace: str, name: str, cascade: str, grace: int = -1) -> str:
    """background/foreground delete the RC's pods too; orphan leaves them ownerless.

    Holds the RC's lock so that a controller's sync of this RC cannot re-adopt or re-create
    pods half-way through.
    """
    rc = store.require("ReplicationController", namespace, name)
    uid = meta.uid_of(rc)
    with file_lock(f"rc-{uid}"):
        pods = owned_pods(store, rc)
        if cascade == "orphan":
            for pod in pods:
                set_controller_ref(store, pod, None)
            store.delete("ReplicationController", namespace, name, uid)
            return f'replicationcontroller "{name}" deleted'
        marked = [mark_deleting(store, p, grace if grace >= 0 else None) for p in pods]
        if cascade == "background":
            store.delete("ReplicationController", namespace, name, uid)
        else:
            rc["metadata"]["deletionTimestamp"] = meta.now_rfc3339()
            store.update(rc)
    list(finish_deletions(store, marked))
    store.delete("ReplicationController", namespace, name, uid)
    return f'replicationcontroller "{name}" deleted'


def parse_cascade(value: str) -> tuple[str, str | None]:
    """kubectl's --cascade values, with its deprecation warnings for booleans."""
    if value in CASCADES:
        return value, None
    if value == "true":
        return "background", ("--cascade=true is deprecated (boolean value) and can be "
                              "replaced with --cascade=background.")
    if value == "false":
        return "orphan", ("--cascade=false is deprecated (boolean value) and can be "
                          "replaced with --cascade=orphan.")
    raise PodctlError(f'invalid cascade value ({value}). Must be "background", '
                      '"foreground", or "orphan".')
