"""CLI-side DaemonSet work: `rollout status`."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import PodctlError


def rollout_status_line(ds: Obj) -> tuple[str, bool]:
    """kubectl's status line for a DaemonSet and whether its rollout is over."""
    name, status = meta.name_of(ds), ds.get("status") or {}
    if (ds["spec"].get("updateStrategy") or {}).get("type") == "OnDelete":
        raise PodctlError("rollout status is only available for RollingUpdate strategy type")
    if int(ds["metadata"].get("generation", 1)) > int(status.get("observedGeneration", 0)):
        return "Waiting for daemon set spec update to be observed...", False
    desired = int(status.get("desiredNumberScheduled", 0))
    updated = int(status.get("updatedNumberScheduled", 0))
    available = int(status.get("numberAvailable", 0))
    waiting = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return f"{waiting}{updated} out of {desired} new pods have been updated...", False
    if available < desired:
        return f"{waiting}{available} of {desired} updated pods are available...", False
    return f'daemon set "{name}" successfully rolled out', True
