"""The verbs on stored objects, as plain functions of the store: what a GET, LIST, POST,
PUT, PATCH or DELETE does, with the API server's rules and errors. No HTTP here."""

from __future__ import annotations

import base64
import binascii
import json
from contextlib import suppress
from dataclasses import dataclass

from podctl.api import meta
from podctl.api.labels import Selector, SelectorError, parse_selector
from podctl.api.meta import Obj
from podctl.apiserver import fields
from podctl.apiserver.status import ApiError
from podctl.controllers.services import ensure_kubernetes_service
from podctl.errors import DockerUnavailable
from podctl.home import home_id
from podctl.kubelet.node import ensure_node, nodes_with_status
from podctl.kubelet.observed import pods_with_status
from podctl.kubelet.status import compute_status
from podctl.runtime.servicenet import reserve_service_range
from podctl.store import Store


def served(store: Store, kind: str, objs: list[Obj], detailed: bool = False) -> list[Obj]:
    """Objects as the API shows them: pods and nodes with their live status (`detailed`:
    start times of running containers too, one inspect each)."""
    if kind == "Pod":
        try:
            return pods_with_status(store, objs, detailed=detailed)
        except DockerUnavailable:
            states = store.pod_states()
            return [{**p, "status": compute_status(p, [], states.get(meta.uid_of(p), {}), None)}
                    for p in objs]
    if kind == "Node":
        return nodes_with_status(store, objs)
    return objs


def stored_list(store: Store, kind: str, namespace: str | None) -> list[Obj]:
    if kind == "Event":
        return store.list_events(namespace)
    ensure_builtin(store, kind, namespace)
    return store.list(kind, namespace)


def ensure_builtin(store: Store, kind: str, namespace: str | None) -> None:
    """What exists in every cluster from the start, made on first sight as `podctl get`
    does: the node (the Docker engine) and the `kubernetes` Service."""
    with suppress(DockerUnavailable):
        if kind == "Node":
            ensure_node(store)
        elif kind == "Service" and namespace in (None, "default"):
            ensure_kubernetes_service(store, lambda: reserve_service_range(
                home_id(store.path.parent)))


def get_object(store: Store, kind: str, namespace: str, name: str) -> Obj:
    if kind == "Event":
        found = [e for e in store.list_events(namespace) if meta.name_of(e) == name]
        if not found:
            raise ApiError("NotFound", f'events "{name}" not found',
                           {"name": name, "kind": "events"})
        return found[0]
    ensure_builtin(store, kind, namespace)
    obj = store.get(kind, namespace, name)
    if obj is None:
        raise not_found(kind, name)
    return served(store, kind, [obj], detailed=True)[0]


def not_found(kind: str, name: str) -> ApiError:
    resource = meta.RESOURCES[kind]
    details: Obj = {"name": name, "kind": resource.name}
    if "/" in resource.api_version:
        details["group"] = resource.api_version.split("/", 1)[0]
    return ApiError("NotFound", f'{meta.plural(kind)} "{name}" not found', details)


@dataclass
class ListQuery:
    label_selector: str | None = None
    field_selector: str | None = None
    limit: int = 0
    continue_token: str | None = None


@dataclass
class Page:
    items: list[Obj]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


def selection(query: ListQuery) -> tuple[Selector | None, list[fields.Requirement]]:
    """The parsed label and field selectors (Invalid as BadRequest, as the API answers)."""
    try:
        labels = parse_selector(query.label_selector) if query.label_selector else None
    except SelectorError as exc:
        raise ApiError("BadRequest", f"unable to parse requirement: {exc}") from exc
    try:
        field_reqs = fields.parse_field_selector(query.field_selector)
    except fields.FieldSelectorError as exc:
        raise ApiError("BadRequest", str(exc)) from exc
    return labels, field_reqs


def selected(obj: Obj, labels: Selector | None, field_reqs: list[fields.Requirement]) -> bool:
    if labels is not None and not labels.matches(meta.labels_of(obj)):
        return False
    return fields.matches(field_reqs, obj)


def list_objects(store: Store, kind: str, namespace: str | None, query: ListQuery) -> Page:
    """One page of a LIST: selectors applied, ordered by namespace and name; the continue
    token is where the next page starts."""
    revision = str(store.revision())
    labels, field_reqs = selection(query)
    after = _decode_continue(query.continue_token) if query.continue_token else None
    pool = stored_list(store, kind, namespace)
    if after is not None:
        pool = [o for o in pool if (meta.namespace_of(o), meta.name_of(o)) > after]
    # Status fields (status.phase) need the live status before selecting.
    status_fields = any(r.field.startswith("status.") for r in field_reqs)
    if status_fields:
        pool = served(store, kind, pool)
    pool = [o for o in pool if selected(o, labels, field_reqs)]
    token, remaining = "", None
    if query.limit > 0 and len(pool) > query.limit:
        remaining = len(pool) - query.limit
        pool = pool[:query.limit]
        last = pool[-1]
        token = _encode_continue(meta.namespace_of(last), meta.name_of(last))
    items = pool if status_fields else served(store, kind, pool)
    return Page(items, revision, token, remaining)


def list_body(kind: str, page: Page) -> Obj:
    """The <Kind>List a LIST answers with."""
    list_meta: Obj = {"resourceVersion": page.resource_version}
    if page.continue_token:
        list_meta["continue"] = page.continue_token
        list_meta["remainingItemCount"] = page.remaining
    return {"kind": f"{kind}List", "apiVersion": meta.api_version(kind), "metadata": list_meta,
            "items": [with_type(kind, o) for o in page.items]}


def with_type(kind: str, obj: Obj) -> Obj:
    """apiVersion and kind first, as the API server writes them."""
    return {"apiVersion": meta.api_version(kind), "kind": kind,
            **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}}


def _encode_continue(namespace: str, name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([namespace, name]).encode()).decode()


def _decode_continue(token: str) -> tuple[str, str]:
    with suppress(ValueError, binascii.Error, TypeError):
        namespace, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(namespace), str(name)
    raise ApiError("BadRequest", "continue key is not valid: incorrect encoded start "
                   "resourceVersion (version meta.k8s.io/v1)")
