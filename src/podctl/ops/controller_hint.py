"""The one-line warning for pods that need `podctl run-controller` when none is running."""

from __future__ import annotations

from podctl.api.meta import Obj
from podctl.home import podctl_home
from podctl.kubelet.plan import should_restart

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HINT = ("no podctl controller is running, so probes and restarts are not acted on; "
        "start one with `podctl run-controller --detach`")


def needs_controller(pod: Obj) -> bool:
    """Probes to run, or a dead container its restart policy wants back."""
    if any(c.get(p) for c in pod["spec"].get("containers", []) for p in PROBES):
        return True
    policy = pod["spec"].get("restartPolicy", "Always")
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated and should_restart(policy, terminated.get("exitCode")):
            return True
    return False


def controller_hint(pods: list[Obj]) -> str | None:
    """The warning text when some pod needs a controller and none runs, else None."""
    if not any(needs_controller(p) for p in pods):
        return None
    from podctl.leader import controller_running

    return None if controller_running(podctl_home()) else HINT
