"""Finding the Docker container behind `logs`, `exec` and `attach`, with kubectl's refusals."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.api.podpick import ATTACH, LOGS
from podctl.errors import PodctlError
from podctl.kubelet import lookup
from podctl.kubelet.lookup import Target
from podctl.ops.podfor import Picked, pick
from podctl.ops.session import open_store
from podctl.ops.views import pods_with_status
from podctl.store import Store


def pod_for_logs(namespace: str, arg: str, timeout: float) -> Picked:
    """The pod `logs` reads: kubectl's logging order (assigned, running, ready longest...)."""
    return pick(open_store(), namespace, arg, LOGS, timeout)


def pod_to_attach(namespace: str, arg: str, timeout: float) -> Picked:
    """The pod `exec` and `attach` enter: the most active one first, as kubectl sorts."""
    return pick(open_store(), namespace, arg, ATTACH, timeout)


def resolve(namespace: str, pod_name: str, container: str | None,
            previous: bool = False) -> Target:
    """The container a logs command means; errors as kubectl words them."""
    store = _refreshed(namespace, pod_name, container)
    return lookup.resolve(store, namespace, pod_name, container, previous)


def exec_target(namespace: str, pod_name: str, container: str | None) -> Target:
    """Like resolve, but refuses pods that have finished, as kubectl exec does."""
    store = _refreshed(namespace, pod_name, container)
    return lookup.exec_target(store, namespace, pod_name, container)


def _refreshed(namespace: str, pod_name: str, container: str | None) -> Store:
    """The store, once the pod's status there is fresh (see views.pods_with_status)."""
    store = open_store()
    pod = store.require("Pod", namespace, pod_name)
    if container is not None:
        check_container(pod, container)
    pods_with_status(store, [pod])
    return store


def attach_target(pod: Obj, container: str | None) -> Target:
    """The container `attach` joins, refused as kubectl attach refuses it: a completed pod,
    a container the pod does not have."""
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise PodctlError(f"cannot attach a container in a completed pod; current phase is "
                          f"{phase}")
    if container is not None:
        try:
            check_container(pod, container)
        except PodctlError as exc:
            raise PodctlError(f"cannot attach to the container: {exc}") from exc
    return lookup.resolve(open_store(), meta.namespace_of(pod), meta.name_of(pod), container)


def check_container(pod: Obj, container: str) -> None:
    """kubectl's own check of -c before it asks the server."""
    spec = pod["spec"]
    names = [c["name"] for c in spec.get("containers") or []]
    if container not in names:
        listed = names + [f"{c['name']} (init)" for c in spec.get("initContainers") or []]
        raise PodctlError(f"container {container} is not valid for pod {meta.name_of(pod)} "
                          f"out of: {', '.join(listed)}")
