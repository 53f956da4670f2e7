"""CLI-side replication controller and ReplicaSet operations: scale, and delete with
kubectl's cascade modes."""

from __future__ import annotations

from podctl.api import meta
from podctl.controllers.deletion import Deletion, advance_owner_deletion
from podctl.controllers.owners import owned_pods
from podctl.controllers.replication import set_replicas
from podctl.errors import Invalid, NotFound, PodctlError
from podctl.kubelet.teardown import finish_pods
from podctl.ops.deferred import NOT_STOPPED, PENDING, DockerWork
from podctl.ops.followup import follow_up
from podctl.store import Store

INT32_MAX = 2**31 - 1


def scale(store: Store, kind: str, namespace: str, name: str, replicas: int,
          docker: DockerWork) -> str:
    if replicas < 0:
        raise PodctlError("The --replicas=COUNT flag is required, and COUNT must be "
                          "greater than or equal to 0")
    if replicas > INT32_MAX:
        # What the API server answers kubectl's patch of the scale subresource.
        from podctl.apiserver.writes import scale_overflow

        raise Invalid(scale_overflow(store.require(kind, namespace, name), replicas))
    before = set_replicas(store, kind, namespace, name, replicas)
    if before is None:
        raise NotFound(meta.plural(kind), name)
    shrinking = replicas < before
    docker.run(lambda: follow_up(store, (kind, namespace, name)),
               NOT_STOPPED if shrinking else PENDING)
    return f"{meta.singular(kind)}/{name} scaled"


def finish_owner_deletion(store: Store, deletion: Deletion, grace: int = -1) -> None:
    """Drive an RC's, ReplicaSet's, DaemonSet's or Job's delete to its end here, waiting
    until its pods are gone: the pods a background delete marked are stopped; a marked
    owner (foreground, orphan) has its pods marked or orphaned, then goes. The controller
    finishes the job if this command dies half-way."""
    list(finish_pods(store, deletion.pods))
    owner = deletion.marked
    if owner is None:
        return
    pod_grace = grace if grace >= 0 else None
    while True:
        advance_owner_deletion(store, owner, pod_grace)
        if store.get_by_uid(meta.uid_of(owner)) is None:
            return
        # Finishing is idempotent: pods a controller is finishing too are simply waited for.
        list(finish_pods(store, [p for p in owned_pods(store, owner)
                                 if p["metadata"].get("deletionTimestamp")]))


