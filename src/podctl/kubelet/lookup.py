"""The container behind a logs, exec or attach request (a pod's, by name or defaulted),
with the API server's refusals: shared by podctl's commands and the API server."""

from __future__ import annotations

from dataclasses import dataclass

from podctl.api.meta import Obj
from podctl.errors import BadRequest, PodctlError
from podctl.node import pod_engine
from podctl.runtime.engines import Engine
from podctl.store import Store


@dataclass(frozen=True)
class Target:
    pod: Obj
    container: str
    container_id: str
    defaulted_from: list[str] | None  # all names, when the container was not given
    phase: str
    engine: Engine | None = None  # its node's (runtime.engines); None: the host's


def resolve(store: Store, namespace: str, pod_name: str, container: str | None,
            previous: bool = False) -> Target:
    """The container a logs/exec request means; errors as kubectl words them."""
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
    status = pod.get("status") or {}
    cstatus: Obj = next((cs for cs in status.get("containerStatuses") or []
                    if cs["name"] == container), {"state": {}})
    if previous:
        last = (cstatus.get("lastState") or {}).get("terminated")
        if not last:
            raise BadRequest(f'previous terminated container "{container}" in pod '
                             f'"{pod_name}" not found')
        return Target(pod, container, str(last["containerID"]).removeprefix("docker://"),
                      defaulted, status["phase"], pod_engine(store, pod))
    waiting = cstatus["state"].get("waiting")
    if not cstatus.get("containerID"):
        reason = (waiting or {}).get("reason", "ContainerCreating")
        raise BadRequest(f'container "{container}" in pod "{pod_name}" is waiting to start: '
                         f"{_waiting_text(reason)}")
    return Target(pod, container, str(cstatus["containerID"]).removeprefix("docker://"),
                  defaulted, status["phase"], pod_engine(store, pod))


def _waiting_text(reason: str) -> str:
    return {"ErrImagePull": "trying and failing to pull image",
            "ImagePullBackOff": "trying and failing to pull image",
            "ErrImageNeverPull": "image can't be pulled"}.get(reason, reason)


def exec_target(store: Store, namespace: str, pod_name: str, container: str | None) -> Target:
    """Like resolve, but refuses pods that have finished, as kubectl exec does."""
    target = resolve(store, namespace, pod_name, container)
    if target.phase in ("Succeeded", "Failed"):
        raise PodctlError(f"cannot exec into a container in a completed pod; "
                          f"current phase is {target.phase}")
    return target
