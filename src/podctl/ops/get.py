"""`get`: stored objects of the asked kinds, with live status for pods."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass

from podctl.api.meta import Obj
from podctl.errors import DockerUnavailable, NotFound
from podctl.kubelet.observed import pods_with_status
from podctl.ops.session import open_store
from podctl.ops.views import pods_without_engine, select, user_selector
from podctl.store import Store

WATCH_INTERVAL = 0.5


@dataclass
class GetRequest:
    targets: list[tuple[str, list[str]]]  # (kind, names)
    namespace: str | None  # None: all namespaces
    selector: str | None = None
    detailed: bool = False  # inspect running containers too (start times for -o json/yaml)


def fetch(store: Store, request: GetRequest, missing: list[NotFound] | None = None,
          unreachable: list[str] | None = None) -> list[Obj]:
    """The objects a request names; missing names raise, or land in `missing` if given.

    When the Docker engine does not answer, pods get the status the store alone gives if
    `unreachable` is given (why the engine did not answer lands there); else that raises.
    """
    selector = user_selector(request.selector)
    objs: list[Obj] = []
    for kind, names in request.targets:
        pool = (store.list_events(request.namespace) if kind == "Event"
                else store.list(kind, request.namespace))
        found = select(pool, names, selector, kind, missing)
        if kind == "Pod":
            try:
                found = pods_with_status(store, found, detailed=request.detailed)
            except DockerUnavailable as exc:
                if unreachable is None:
                    raise
                unreachable.append(exc.detail)
                found = pods_without_engine(store, found)
        elif kind == "Node":
            # Node status needs the kubelet and the engine's facts; `get pods` does not.
            from podctl.kubelet.node import nodes_with_status

            found = nodes_with_status(store, found)
        objs.extend(found)
    return objs


def get_objects(request: GetRequest, missing: list[NotFound] | None = None,
                unreachable: list[str] | None = None) -> tuple[list[Obj], bool]:
    """The objects to print, and whether exactly one was named (no List wrapper)."""
    store = open_store()
    if any(kind == "Node" for kind, _ in request.targets):
        from podctl.kubelet.node import ensure_node

        ensure_node(store)
    if any(kind == "Service" for kind, _ in request.targets) and request.namespace in (
            None, "default"):
        from podctl.controllers.services import ensure_kubernetes_service
        from podctl.ops.session import home_service_range

        with suppress(DockerUnavailable):  # a home that never reserved its range yet
            ensure_kubernetes_service(store, home_service_range)
    single = len(request.targets) == 1 and len(request.targets[0][1]) == 1
    return fetch(store, request, missing, unreachable), single


def watch_objects(request: GetRequest) -> Iterator[list[Obj]]:
    """Objects whose printed state changed, as they change, until interrupted."""
    store = open_store()
    last: dict[str, str] = {}

    for obj in fetch(store, request):
        last[obj["metadata"]["uid"]] = json.dumps(_watch_key(obj), sort_keys=True)
    while True:
        time.sleep(WATCH_INTERVAL)
        changed = []
        for obj in fetch(store, request):
            key = json.dumps(_watch_key(obj), sort_keys=True)
            if last.get(obj["metadata"]["uid"]) != key:
                last[obj["metadata"]["uid"]] = key
                changed.append(obj)
        if changed:
            yield changed


def _watch_key(obj: Obj) -> object:
    status = obj.get("status") or {}
    return [obj["metadata"].get("resourceVersion"), status.get("phase"),
            [(c.get("ready"), c.get("restartCount"), sorted((c.get("state") or {}).items()))
             for c in status.get("containerStatuses") or []]]
