"""Ending a pod on the engine: its containers, sandbox and volumes; then, as upstream's
kubelet does once they are gone, the pod object itself.

Apart from the kubelet's sync so that `delete` loads only what tearing down needs.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import DockerUnavailable
from podctl.kubelet.common import emit, parallel
from podctl.kubelet.hooks import kill_in_order
from podctl.kubelet.status import current_sandbox
from podctl.locks import file_lock
from podctl.node import host_node_name, pod_engine, ready_status
from podctl.runtime import containers as ctr
from podctl.runtime import engines, inventory
from podctl.runtime.records import ContainerRecord
from podctl.store import Store

# Pods whose containers this process removes at once. Their graceful stops all run
# together (each pod its whole grace period, as on a node), but removals are the engine's
# own work: a burst of them from many pods at once only queues inside dockerd.
_REMOVING = threading.BoundedSemaphore(8)
FINISHING = 256


def terminate_pod(store: Store, pod: Obj, grace: int) -> None:
    """Stop the pod's containers gracefully, then remove them, the sandbox and its volumes.

    With no grace at all, every container is force-removed at once, as `docker rm -f`
    does: the engine kills each first, and there is no stop order left to keep.
    """
    from podctl.runtime import configvolumes, volumes

    uid = meta.uid_of(pod)
    # On the pod's node's engine; a node that is stopped leaves the pod Terminating
    # (DockerUnavailable: tried again) until it is back or the node is deleted.
    with file_lock(f"pod-{uid}"), engines.using(pod_engine(store, pod)):
        records = inventory.list_containers(uid)
        apps = [r for r in records if not r.is_sandbox and r.running]
        for record in apps:
            emit(store, pod, "Normal", "Killing", f"Stopping container {record.container}",
                 record.container)
        if grace > 0:
            deadline = time.monotonic() + grace
            sandbox = current_sandbox(records)
            kill_in_order(store, pod, apps, grace, sandbox.ip if sandbox is not None else "")
        with _REMOVING:
            if grace > 0:
                remaining = max(0, int(deadline - time.monotonic()))
                parallel(lambda r: ctr.stop(r.id, min(remaining, 2)),
                         [r for r in records if r.is_sandbox and r.running])
            parallel(ctr.remove, [r.id for r in records])
        if any("emptyDir" in v for v in pod["spec"].get("volumes") or []):
            volumes.remove_pod_volumes(uid)
        configvolumes.remove(store.path.parent, uid)


def finish_pod(store: Store, pod: Obj) -> bool:
    """Stop and remove a pod marked deleting, then remove it from the store. The grace
    period runs from the mark: a delete finished after its command died waits only what
    is left of it.

    A pod on a node that is not Ready (another node's, whose kubelet cannot be reached)
    stays Terminating until that node is back, as upstream's; a force delete (grace 0)
    removes the object at once, and the node's kubelet removes its containers when it
    returns. Whether the pod is gone."""
    md = pod["metadata"]
    grace = int(md.get("deletionGracePeriodSeconds", 30))
    if _node_unreachable(store, pod):
        if grace == 0:
            store.delete("Pod", meta.namespace_of(pod), meta.name_of(pod), meta.uid_of(pod))
        return grace == 0
    if md.get("deletionTimestamp"):
        left = (meta.parse_time(md["deletionTimestamp"]) - datetime.now(UTC)).total_seconds()
        grace = min(grace, max(0, math.ceil(left)))
    try:
        terminate_pod(store, pod, grace)
    except DockerUnavailable:
        forced = int(md.get("deletionGracePeriodSeconds", 30)) == 0
        if not forced or pod_engine(store, pod) is None:
            raise
        # Force deletion of a pod on a node that is down: the object goes now, as the API
        # server's does; the node's kubelet removes the containers when it is back.
    store.delete("Pod", meta.namespace_of(pod), meta.name_of(pod), meta.uid_of(pod))
    return True


def _node_unreachable(store: Store, pod: Obj) -> bool:
    node_name = pod["spec"].get("nodeName")
    if not node_name or node_name == host_node_name(store):
        return False
    node = store.get("Node", "", node_name)
    # A node that never reported a Ready condition has no kubelet podctl knows of: the
    # one finishing pods here does it, as it always did.
    reported = any(c.get("type") == "Ready"
                   for c in ((node or {}).get("status") or {}).get("conditions") or [])
    return node is not None and reported and ready_status(node) != "True"


def finish_pods(store: Store, pods: list[Obj]) -> Iterator[Obj]:
    """finish_pod for many, in parallel; yields each when gone, in the order given.

    Every pod's graceful stop starts at once, as on a node: pods waiting for a free thread
    would see their grace period (counted from the mark) run out, and get SIGKILL with no
    SIGTERM first. Up to FINISHING at once; each holds one connection to the engine.
    """
    if not pods:
        return
    with ThreadPoolExecutor(max_workers=min(FINISHING, len(pods))) as pool:
        futures = [pool.submit(finish_pod, store, pod) for pod in pods]
        for pod, future in zip(pods, futures, strict=True):
            future.result()
            yield pod


def left_to_its_node(store: Store, pod: Obj) -> bool:
    """Whether a pod marked deleting with a grace period must wait for its node: a node
    container that does not answer finishes it when it is back (upstream: the pod stays
    Terminating until its kubelet confirms)."""
    from podctl.runtime.client import ping

    engine = pod_engine(store, pod)
    if engine is None or int(pod["metadata"].get("deletionGracePeriodSeconds", 30)) == 0:
        return False
    with engines.using(engine):
        try:
            ping()
            return False
        except DockerUnavailable:
            return True


def remove_orphans(store: Store, records: list[ContainerRecord]) -> set[str]:
    """The kubelet's housekeeping on this block's engine: the containers (and emptyDir
    volumes) of pods no longer in the store go, as upstream's kubelet kills pods that are
    not in its desired set (deleted while their node was down, or force-deleted); the
    uids of those pods. `records` must be listed before the store is read: a pod made
    after the listing has no container in it."""
    from podctl.runtime import volumes

    uids = store.uids()
    orphans = [r for r in records if r.pod_uid and r.pod_uid not in uids]
    parallel(lambda r: ctr.remove(r.id), orphans)
    gone = {r.pod_uid for r in orphans}
    for uid in gone:
        volumes.remove_pod_volumes(uid)
    return gone
