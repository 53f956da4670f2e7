"""`get`: stored objects of the asked kinds, with live status for pods."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import NamedTuple

from podctl.api.meta import Obj
from podctl.errors import NotFound
from podctl.ops.session import open_store
from podctl.ops.views import nodes_with_status, pods_with_status, select, user_selector
from podctl.store import Store

WATCH_INTERVAL = 0.5


class GetRequest(NamedTuple):
    targets: list[tuple[str, list[str]]]  # (kind, names)
    namespace: str | None  # None: all namespaces
    selector: str | None = None


def fetch(store: Store, request: GetRequest, missing: list[NotFound] | None = None,
          unreachable: list[str] | None = None) -> list[Obj]:
    """The objects a request names; missing names raise, or land in `missing` if given.

    Pods have their status as stored (see views.pods_with_status: `unreachable`).
    """
    selector = user_selector(request.selector)
    objs: list[Obj] = []
    for kind, names in request.targets:
        pool = (store.list_events(request.namespace) if kind == "Event"
                else store.list(kind, request.namespace))
        found = select(pool, names, selector, kind, missing)
        if kind == "Pod":
            found = pods_with_status(store, found, unreachable)
        elif kind == "Node" and found:
            found = nodes_with_status(store, found)
        objs.extend(found)
    return objs


def get_objects(request: GetRequest, missing: list[NotFound] | None = None,
                unreachable: list[str] | None = None) -> tuple[list[Obj], bool]:
    """The objects to print, and whether exactly one was named (no List wrapper)."""
    store = open_store()
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
