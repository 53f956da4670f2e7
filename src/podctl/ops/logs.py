"""Finding the Docker container behind `logs` and `exec`, with kubectl's refusals."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import kind_for
from podctl.controllers.owners import owned_pods
from podctl.errors import PodctlError
from podctl.kubelet import lookup
from podctl.kubelet.lookup import Target
from podctl.kubelet.observed import pods_with_status
from podctl.ops.session import open_store


def pod_for(namespace: str, arg: str) -> tuple[str, int]:
    """The pod an argument names, and how many pods it could have meant."""
    word, sep, name = arg.partition("/")
    if not sep:
        return arg, 1
    kind = kind_for(word)
    if kind == "Pod":
        return name, 1
    if kind not in ("ReplicationController", "ReplicaSet"):
        raise PodctlError(f"cannot attach to {word}: only pods, replication controllers "
                          "and replica sets are supported")

    store = open_store()
    rc = store.require(kind, namespace, name)
    pods = pods_with_status(store, owned_pods(store, rc))
    if not pods:
        raise PodctlError(f"no pods found for {meta.singular(kind)}/{name}")
    running = [p for p in pods if p["status"].get("phase") == "Running"] or pods
    return str(running[0]["metadata"]["name"]), len(pods)


def resolve(namespace: str, pod_name: str, container: str | None,
            previous: bool = False) -> Target:
    """The container a logs/exec command means; errors as kubectl words them."""
    return lookup.resolve(open_store(), namespace, pod_name, container, previous)


def exec_target(namespace: str, pod_name: str, container: str | None) -> Target:
    """Like resolve, but refuses pods that have finished, as kubectl exec does."""
    return lookup.exec_target(open_store(), namespace, pod_name, container)
