"""One-shot container stats from the engine: what cAdvisor reads from a container's cgroup,
as one reading (cumulative CPU time, memory working set) at the engine's clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podctl.api.meta import parse_time
from podctl.runtime.client import engine_call

# A container's stats answer within this, or the reading is skipped this round.
STATS_TIMEOUT = 10.0


@dataclass(frozen=True)
class Reading:
    """One container's cumulative CPU time (ns) and working set (bytes) at `timestamp`
    (epoch seconds, the engine's)."""

    timestamp: float
    cpu_ns: int
    memory: int


def read(container: str) -> Reading | None:
    """The container's reading (by id or name); None when it is gone or not running.
    `one-shot` spares the engine's one-second wait for a previous CPU sample: rates come
    from two readings of ours."""
    found: dict[str, Any] | None = engine_call(
        "GET", f"/containers/{container}/stats", {"stream": "false", "one-shot": "true"},
        allow=(404, 409), timeout=STATS_TIMEOUT)
    return None if found is None else parse(found)


def parse(stats: dict[str, Any]) -> Reading | None:
    """A stats answer as a reading; None for a stopped container (the engine answers it
    with a zero time and empty counters)."""
    read_at = str(stats.get("read") or "")
    cpu = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
    if not read_at or read_at.startswith("0001-") or not cpu:
        return None
    try:
        timestamp = parse_time(read_at).timestamp()
    except ValueError:
        return None
    return Reading(timestamp, int(cpu), working_set(stats.get("memory_stats") or {}))


def working_set(memory: dict[str, Any]) -> int:
    """Usage less inactive page cache, as the kubelet reports a container's memory (cgroup
    v1 names it total_inactive_file, v2 inactive_file)."""
    usage = int(memory.get("usage") or 0)
    stats = memory.get("stats") or {}
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))
    return max(0, usage - int(inactive or 0))
