"""The one-line warning for pods that need `podctl run-controller` when none is running."""

from __future__ import annotations

from podctl.api.meta import Obj
from podctl.home import podctl_home
from podctl.leader import controller_running

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HINT = ("no podctl controller is running, so probes, restarts, replica counts and endpoints "
        "are not kept up; start one with `podctl run-controller --detach`")


def needs_controller(obj: Obj) -> bool:
    """A Service with a selector; or a pod with probes to run, init containers to run one
    after another, or a dead container its restart policy wants back."""
    if obj["kind"] == "Service":
        return bool(obj["spec"].get("selector"))
    pod = obj
    if any(c.get(p) for c in pod["spec"].get("containers", []) for p in PROBES):
        return True
    if pod["spec"].get("initContainers"):
        return True
    policy = pod["spec"].get("restartPolicy", "Always")
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated:
            from podctl.kubelet.plan import should_restart  # off `get`'s path

            if should_restart(policy, terminated.get("exitCode")):
                return True
    return False


def controller_hint(objs: list[Obj]) -> str | None:
    """The warning text when some object needs a controller and none runs, else None.

    Replication controllers and ReplicaSets always do: only a running controller keeps
    their count; so do Jobs and CronJobs, whose pods only the controller starts, and
    Services with a selector, whose Endpoints follow their pods.
    """
    if not any(o["kind"] in ("ReplicationController", "ReplicaSet", "Deployment", "DaemonSet",
                             "StatefulSet", "Job", "CronJob")
               or needs_controller(o)
               for o in objs):
        return None

    return None if controller_running(podctl_home()) else HINT
