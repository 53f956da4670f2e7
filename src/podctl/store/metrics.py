"""The metrics pipeline's last answer, beside the store: what the controller's scraper
computed at its last scrape, for every process that serves or prints it (the API in the
controller's process or a standby's, `podctl top`, the autoscaler). Not an object of the
store: like metrics-server's memory, it is replaced at every scrape and never kept."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podctl.api import meta, resourcemetrics
from podctl.api.meta import Obj
from podctl.errors import NotFound

if TYPE_CHECKING:
    from podctl.store.db import Store

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


# -- what a reader asks of it: the objects metrics-server answers -----------------------

def pod_metrics(store: Store, scraped: dict[str, Any], namespace: str | None,
                name: str | None, select: Callable[[Obj], bool] = lambda _: True) -> list[Obj]:
    """The PodMetrics of the pods named or selected (as metrics-server lists pods from
    its informer, then looks up their metrics): a missing pod, or a named pod without
    metrics, is NotFound in metrics-server's words."""
    now = meta.now_rfc3339()
    if name is not None:
        pod = store.get("Pod", namespace or "", name)
        if pod is None:
            raise NotFound("pods", name)
        pods = [pod]
    else:
        pods = [pod for pod in store.list("Pod", namespace) if select(pod)]
    found = {(e.get("namespace"), e.get("name")): e for e in scraped.get("pods") or []}
    items = [resourcemetrics.pod_metrics(entry, meta.labels_of(pod), now) for pod in pods
             if (entry := found.get((meta.namespace_of(pod), meta.name_of(pod)))) is not None]
    if name is not None and not items:
        raise NotFound(f"podmetrics.{resourcemetrics.GROUP}", f"{namespace}/{name}")
    return items


def node_metrics(store: Store, scraped: dict[str, Any], name: str | None,
                 select: Callable[[Obj], bool] = lambda _: True) -> list[Obj]:
    now = meta.now_rfc3339()
    if name is not None:
        node = store.get("Node", "", name)
        if node is None:
            raise NotFound("nodes", name)
        nodes = [node]
    else:
        nodes = [node for node in store.list("Node") if select(node)]
    found = {e.get("name"): e for e in scraped.get("nodes") or []}
    items = [resourcemetrics.node_metrics(entry, meta.labels_of(node), now) for node in nodes
             if (entry := found.get(meta.name_of(node))) is not None]
    if name is not None and not items:
        raise NotFound(f"nodemetrics.{resourcemetrics.GROUP}", name)
    return items
