"""metrics.k8s.io/v1beta1 as metrics-server serves it through the aggregator: PodMetrics
and NodeMetrics, get and list, from the controller's last scrape (store.metrics), never
from the engine. A pod's metrics carry its labels now; a label selector selects pods, as
metrics-server lists them from its pod informer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from podctl.api import labels, meta, resourcemetrics
from podctl.api.meta import Obj
from podctl.apiserver.fields import FieldSelectorError, matches, parse_field_selector
from podctl.apiserver.resources import AGGREGATED_RESOURCES
from podctl.apiserver.status import ApiError
from podctl.apiserver.tables import partial_metadata, wants_table
from podctl.store import Store
from podctl.store import metrics as metrics_file

GROUP, VERSION, GROUP_VERSION = (resourcemetrics.GROUP, resourcemetrics.VERSION,
                                 resourcemetrics.GROUP_VERSION)
# resource -> (kind, namespaced), as discovery lists them
RESOURCES = {r.name: (r.kind, r.namespaced) for r in AGGREGATED_RESOURCES}
# What the aggregator answers while its backend (here: the scraper) has no answer.
UNAVAILABLE = ApiError("ServiceUnavailable", "the server is currently unable to handle "
                       "the request")
NOT_ALLOWED = ApiError("MethodNotAllowed",
                       "the server does not allow this method on the requested resource", {})


def parse(segments: list[str]) -> tuple[str, str | None, str | None] | None:
    """(resource, namespace, name) of a path under /apis/metrics.k8s.io/v1beta1."""
    if segments[:3] != ["apis", GROUP, VERSION]:
        return None
    rest = segments[3:]
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not 1 <= len(rest) <= 2 or rest[0] not in RESOURCES:
        return None
    if namespace is not None and not RESOURCES[rest[0]][1]:
        return None
    return rest[0], namespace, rest[1] if len(rest) > 1 else None


def answer(store: Store, resource: str, namespace: str | None, name: str | None,
           query: Any, accept: str) -> Obj:
    """The body of a GET (run on a request thread: it reads the store)."""
    scraped = metrics_file.read(store.path.parent)
    if scraped is None:
        raise UNAVAILABLE
    kind = RESOURCES[resource][0]
    select = _selector(kind.removesuffix("Metrics"), query)
    if resource == "pods":
        items = metrics_file.pod_metrics(store, scraped, namespace, name, select)
    else:
        items = metrics_file.node_metrics(store, scraped, name, select)
    if wants_table(accept):
        return table(kind, items)
    if name is not None:
        return items[0]
    return {"kind": f"{kind}List", "apiVersion": GROUP_VERSION, "metadata": {},
            "items": items}


def _selector(kind: str, query: Any) -> Callable[[Obj], bool]:
    try:
        selector = labels.parse_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector"), kind)
    except (labels.SelectorError, FieldSelectorError) as exc:
        raise ApiError("BadRequest", str(exc)) from exc
    return lambda obj: selector.matches(meta.labels_of(obj)) and matches(fields, obj)


def table(kind: str, items: list[Obj]) -> Obj:
    """metrics-server's Table: Name, then each resource (cpu, memory), then Window."""
    columns = [{"name": "Name", "type": "string", "format": "name",
                "description": "Name of the resource", "priority": 0},
               *({"name": r, "type": "string", "format": "quantity", "description": "",
                  "priority": 0} for r in ("cpu", "memory")),
               {"name": "Window", "type": "string", "format": "duration", "description": "",
                "priority": 0}]
    rows = []
    for item in items:
        usage = item["usage"] if kind == "NodeMetrics" else _pod_usage(item)
        rows.append({"cells": [item["metadata"]["name"], usage["cpu"], usage["memory"],
                               item["window"]],
                     "object": partial_metadata(item)})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
            "columnDefinitions": columns if items else [], "rows": rows}


def _pod_usage(item: Obj) -> dict[str, str]:
    cpu = sum(resourcemetrics.nanocores(c["usage"]["cpu"]) for c in item["containers"])
    memory = sum(resourcemetrics.byte_count(c["usage"]["memory"]) for c in item["containers"])
    return {"cpu": resourcemetrics.decimal_si(cpu, -9),
            "memory": resourcemetrics.binary_si(memory)}


async def serve(request: web.Request, store: Store, segments: list[str],
                blocking: Any) -> web.Response | None:
    """The answer to a request for the group's resources, or None when the path names none
    (its discovery documents are resources.document's, as every group's)."""
    parsed = parse(segments)
    if parsed is None:
        return None
    if request.method not in ("GET", "HEAD"):
        raise NOT_ALLOWED
    resource, namespace, name = parsed
    body = await blocking(answer, store, resource, namespace, name, request.query,
                          request.headers.get("Accept", ""))
    return _json(body)


def _json(body: Obj) -> web.Response:
    import json

    return web.Response(body=json.dumps(body).encode(), content_type="application/json")
