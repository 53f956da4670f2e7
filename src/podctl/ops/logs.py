"""Finding the Docker container behind `logs` and `exec`, with kubectl's refusals."""

from __future__ import annotations

from dataclasses import dataclass

from podctl.api import meta
from podctl.api.meta import Obj, kind_for
from podctl.controllers.owners import owned_pods
from podctl.errors import BadRequest, PodctlError
from podctl.kubelet.observed import pods_with_status
from podctl.ops.session import open_store


@dataclass(frozen=True)
class Target:
    pod: Obj
    container: str
    container_id: str
    defaulted_from: list[str] | None  # all names, when the container was not given
    phase: str


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
    store = open_store()
    pod = store.require("Pod", namespace, pod_name)
    names = [c["name"] for c in pod["spec"].get("containers", [])]
    defaulted = None
    if container is None:
        default = (pod["metadata"].get("annotations") or {}).get(
            "kubectl.kubernetes.io/default-container")
        container = str(default) if default in names else names[0]
        defaulted = names if len(names) > 1 else None
    elif container not in names:
        raise BadRequest(f'container {container} is not valid for pod {pod_name}')
    status = pods_with_status(store, [pod])[0]["status"]
    cstatus: Obj = next((cs for cs in status.get("containerStatuses") or []
                    if cs["name"] == container), {"state": {}})
    if previous:
        last = (cstatus.get("lastState") or {}).get("terminated")
        if not last:
            raise BadRequest(f'previous terminated container "{container}" in pod '
                             f'"{pod_name}" not found')
        return Target(pod, container, str(last["containerID"]).removeprefix("docker://"),
                      defaulted, status["phase"])
    waiting = cstatus["state"].get("waiting")
    if not cstatus.get("containerID"):
        reason = (waiting or {}).get("reason", "ContainerCreating")
        raise BadRequest(f'container "{container}" in pod "{pod_name}" is waiting to start: '
                         f"{_waiting_text(reason)}")
    return Target(pod, container, str(cstatus["containerID"]).removeprefix("docker://"),
                  defaulted, status["phase"])


def _waiting_text(reason: str) -> str:
    return {"ErrImagePull": "trying and failing to pull image",
            "ImagePullBackOff": "trying and failing to pull image",
            "ErrImageNeverPull": "image can't be pulled"}.get(reason, reason)


def exec_target(namespace: str, pod_name: str, container: str | None) -> Target:
    """Like resolve, but refuses pods that have finished, as kubectl exec does."""
    target = resolve(namespace, pod_name, container)
    if target.phase in ("Succeeded", "Failed"):
        raise PodctlError(f"cannot exec into a container in a completed pod; "
                          f"current phase is {target.phase}")
    return target
