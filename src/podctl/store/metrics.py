"""The metrics pipeline's last answer, beside the store: what the controller's scraper
computed at its last scrape, for every process that serves or prints it (the API in the
controller's process or a standby's, `podctl top`, the autoscaler). Not an object of the
store: like metrics-server's memory, it is replaced at every scrape and never kept."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

FILE_NAME = "metrics.json"
# A scrape this many resolutions old is a scraper that is gone (a controller killed):
# metrics-server's answer would be gone with it.
STALE_AFTER = 4
MAX_BYTES = 64 << 20  # what a reader takes at most


def path(home: Path) -> Path:
    return home / FILE_NAME


def write(home: Path, pods: list[dict[str, Any]], nodes: list[dict[str, Any]],
          resolution: float) -> None:
    """Replace the last answer at once: a reader sees the old one or the new one."""
    body = {"written": time.time(), "resolution": resolution, "pods": pods, "nodes": nodes}
    tmp = path(home).with_name(f".{FILE_NAME}.{os.getpid()}")
    tmp.write_text(json.dumps(body, separators=(",", ":")))
    os.replace(tmp, path(home))


def read(home: Path, now: float | None = None) -> dict[str, Any] | None:
    """The last answer while it is fresh; None when no scraper runs (or has run yet)."""
    target = path(home)
    try:
        if target.stat().st_size > MAX_BYTES:
            return None
        body = json.loads(target.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    resolution = float(body.get("resolution") or 0)
    written = float(body.get("written") or 0)
    if resolution <= 0 or (now or time.time()) - written > STALE_AFTER * resolution:
        return None
    return body


def remove(home: Path) -> None:
    """The scraper stops: its answer goes with it."""
    with contextlib.suppress(FileNotFoundError):
        path(home).unlink()
