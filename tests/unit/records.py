"""Builders of container records for unit tests of pure status and planning code."""

from __future__ import annotations

from podctl.api.meta import parse_time
from podctl.runtime.records import ContainerRecord


def record(container: str, attempt: int = 0, state: str = "running", exit_code: int | None = None,
           started: str | None = "2026-01-01T00:00:00Z", finished: str | None = None,
           oom: bool = False, error: str = "", ip: str = "") -> ContainerRecord:
    return ContainerRecord(
        id=f"{container}{attempt}".ljust(64, "0"), name=f"k8s_{container}_{attempt}",
        pod_uid="uid-1", container=container, is_sandbox=container == "POD", attempt=attempt,
        state=state, created=1_700_000_000 + attempt, image="img", image_id="sha256:abc",
        labels={}, ip=ip, inspected=True, exit_code=exit_code, started_at=started,
        finished_at=finished, oom_killed=oom, error=error,
        started=parse_time(started) if started else None,
    )


def sandbox(attempt: int = 0, running: bool = True) -> ContainerRecord:
    return record("POD", attempt, "running" if running else "exited", ip="10.0.0.5",
                  exit_code=None if running else 0)


def pod(*names: str, policy: str = "Always", **spec_extra: object) -> dict[str, object]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default", "uid": "uid-1",
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": "node", "restartPolicy": policy,
                 "containers": [{"name": n, "image": "img"} for n in names], **spec_extra},
    }
