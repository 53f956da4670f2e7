"""What Docker reports about a pod's containers, as plain records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from podctl.api.meta import format_time, parse_time
from podctl.runtime import naming


@dataclass
class ContainerRecord:
    """One Docker container of a pod (sandbox or app), from a list call plus, when needed,
    the inspect fields a list does not carry (exit code, start and finish times)."""

    id: str
    name: str
    pod_uid: str
    container: str  # container name in the pod spec, "POD" for the sandbox
    is_sandbox: bool
    attempt: int
    state: str  # Docker's: created, running, exited, dead, paused, restarting, removing
    created: int  # epoch seconds
    image: str
    image_id: str
    labels: dict[str, str]
    ip: str = ""
    inspected: bool = False
    exit_code: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    # started_at to the microsecond: a restart under a running container can fall within
    # the second that started_at is rounded to
    started: datetime | None = None
    oom_killed: bool = False
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused", "restarting")


def from_list_entry(entry: dict[str, Any], network: str | None = None) -> ContainerRecord:
    """Build a record from one item of GET /containers/json."""
    labels = entry.get("Labels") or {}
    networks = (entry.get("NetworkSettings") or {}).get("Networks") or {}
    ip = ""
    if network and network in networks:
        ip = networks[network].get("IPAddress") or ""
    else:
        ip = next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), "")
    return ContainerRecord(
        id=entry["Id"],
        name=(entry.get("Names") or ["/"])[0].lstrip("/"),
        pod_uid=labels.get(naming.POD_UID, ""),
        container=labels.get(naming.CONTAINER_NAME, ""),
        is_sandbox=labels.get(naming.DOCKER_TYPE) == naming.TYPE_SANDBOX,
        attempt=int(labels.get(naming.ATTEMPT, "0") or 0),
        state=entry.get("State", ""),
        created=int(entry.get("Created", 0)),
        image=entry.get("Image", ""),
        image_id=entry.get("ImageID", ""),
        labels=labels,
        ip=ip,
    )


def add_inspect(record: ContainerRecord, info: dict[str, Any]) -> None:
    """Fill the fields only an inspect carries."""
    state = info.get("State") or {}
    record.inspected = True
    record.state = state.get("Status", record.state)
    record.exit_code = state.get("ExitCode")
    record.oom_killed = bool(state.get("OOMKilled"))
    record.error = state.get("Error") or ""
    record.started_at = _docker_time(state.get("StartedAt"))
    record.started = parse_time(state["StartedAt"]) if record.started_at else None
    record.finished_at = _docker_time(state.get("FinishedAt"))
    record.image_id = info.get("Image", record.image_id)
    record.extra["config_image"] = (info.get("Config") or {}).get("Image", "")


def _docker_time(value: str | None) -> str | None:
    """Docker writes 0001-01-01T00:00:00Z for 'never'."""
    if not value or value.startswith("0001-"):
        return None

    return format_time(parse_time(value))
