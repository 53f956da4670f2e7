"""What the kubelet's parts share: its events and its fan-out of engine calls."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from podctl.api.meta import Obj
from podctl.runtime import engines
from podctl.store import Store

KUBELET = "kubelet"


def emit(store: Store, pod: Obj, type_: str, reason: str, message: str,
         container: str | None = None) -> None:
    inits = {c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []}
    kind = "initContainers" if container in inits else "containers"
    field_path = f"spec.{kind}{{{container}}}" if container else ""
    store.record_event(pod, type_, reason, message, KUBELET, field_path)


def parallel(fn: Callable[[Any], object], items: list[Any]) -> None:
    """Run fn over items on threads: Docker's calls dominate a pod's start and end."""
    if len(items) <= 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        for future in [pool.submit(engines.carry(fn), item) for item in items]:
            future.result()
