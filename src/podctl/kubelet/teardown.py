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
from podctl.kubelet.common import emit, parallel
from podctl.locks import file_lock
from podctl.node import host_node_name, ready_status
from podctl.runtime import containers as ctr
from podctl.runtime import inventory
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
    with file_lock(f"pod-{uid}"):
        records = inventory.list_containers(uid)
        apps = [r for r in records if not r.is_sandbox and r.running]
        for record in apps:
            emit(store, pod, "Normal", "Killing", f"Stopping container {record.container}",
                 record.container)
        if grace > 0:
            deadline = time.monotonic() + grace
            parallel(lambda r: ctr.stop(r.id, grace), apps)
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
    terminate_pod(store, pod, grace)
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
