"""`describe`: objects with live status and their events, rendered by the printers."""

from __future__ import annotations

from datetime import UTC, datetime

from podctl.kubelet.observed import pods_with_status
from podctl.ops.get import GetRequest, fetch
from podctl.ops.session import open_store
from podctl.printers import describe as printer


def describe_objects(request: GetRequest) -> list[str]:
    store = open_store()
    now = datetime.now(UTC)
    texts = []
    for obj in fetch(store, request):
        kind = obj["kind"]
        events = store.events_for(obj["metadata"]["uid"])
        if kind == "Pod":
            texts.append(printer.describe_pod(obj, events, now))
        elif kind == "Namespace":
            texts.append(printer.describe_namespace(obj, now))
        elif kind == "Node":
            pods = [p for p in store.list("Pod")
                    if p["spec"].get("nodeName") == obj["metadata"]["name"]
                    and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            texts.append(printer.describe_node(obj, pods, events, now))
        elif kind == "ReplicationController":
            from podctl.controllers.owners import owned_pods

            pods = pods_with_status(store, owned_pods(store, obj))
            texts.append(printer.describe_rc(obj, pods, events, now))
        else:
            texts.append(printer.describe_generic(obj, events, now))
    return texts
