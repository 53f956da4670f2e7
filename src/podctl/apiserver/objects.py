"""The verbs on stored objects, as plain functions of the store: what a GET, LIST, POST,
PUT, PATCH or DELETE does, with the API server's rules and errors. No HTTP here."""

from __future__ import annotations

import base64
import json
import posixpath
import string
from dataclasses import dataclass

from podctl.api import meta
from podctl.api.labels import Selector, SelectorError, parse_selector
from podctl.api.meta import Obj
from podctl.apiserver import fields
from podctl.apiserver.bodies import BodyError, decode_json
from podctl.apiserver.params import EXACT, ListOptions, parse_resource_version
from podctl.apiserver.resources import Target
from podctl.apiserver.status import ApiError
from podctl.store import Store


def stored_list(store: Store, kind: str, namespace: str | None) -> list[Obj]:
    if kind == "Event":
        return store.list_events(namespace)
    return store.list(kind, namespace)


def get_object(store: Store, kind: str, namespace: str, name: str) -> Obj:
    if kind == "Event":
        found = [e for e in store.list_events(namespace) if meta.name_of(e) == name]
        if not found:
            raise ApiError("NotFound", f'events "{name}" not found',
                           {"name": name, "kind": "events"})
        return found[0]
    obj = store.get(kind, namespace, name)
    if obj is None:
        raise not_found(kind, name)
    return obj


def not_found(kind: str, name: str) -> ApiError:
    resource = meta.RESOURCES[kind]
    details: Obj = {"name": name, "kind": resource.name}
    if "/" in resource.api_version:
        details["group"] = resource.api_version.split("/", 1)[0]
    return ApiError("NotFound", f'{meta.plural(kind)} "{name}" not found', details)


@dataclass
class Page:
    items: list[Obj]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


def selection(kind: str, query: ListOptions) -> tuple[Selector | None,
                                                      list[fields.Requirement]]:
    """The parsed label and field selectors (BadRequest, as the API answers)."""
    try:
        labels = parse_selector(query.label_selector) if query.label_selector else None
    except SelectorError as exc:
        raise ApiError("BadRequest", str(exc)) from exc
    try:
        field_reqs = fields.parse_field_selector(query.field_selector, kind)
    except fields.FieldSelectorError as exc:
        raise ApiError("BadRequest", str(exc)) from exc
    return labels, field_reqs


def selected(obj: Obj, labels: Selector | None, field_reqs: list[fields.Requirement]) -> bool:
    if labels is not None and not labels.matches(meta.labels_of(obj)):
        return False
    return fields.matches(field_reqs, obj)


def list_objects(store: Store, kind: str, namespace: str | None, query: ListOptions,
                 oldest: int = 0) -> Page:
    """One page of a LIST: selectors applied, ordered by namespace and name; the continue
    token is where the next page starts. `oldest`: the first revision a continue token may
    carry (older ones have expired)."""
    labels, field_reqs = selection(kind, query)
    revision = store.revision()
    after = start_after(query, revision, oldest)
    pool = stored_list(store, kind, namespace)
    if after is not None:
        pool = [o for o in pool if (meta.namespace_of(o), meta.name_of(o)) > after]
    pool = [o for o in pool if selected(o, labels, field_reqs)]
    token, remaining = "", None
    if query.limit > 0 and len(pool) > query.limit:
        remaining = len(pool) - query.limit
        pool = pool[:query.limit]
        last = pool[-1]
        token = encode_continue(meta.namespace_of(last), meta.name_of(last), revision)
    return Page(pool, str(revision), token, remaining)


def start_after(query: ListOptions, revision: int, oldest: int) -> tuple[str, str] | None:
    """Where a list starts (a continue token's key), after checking that the store can serve
    the resourceVersion asked for: podctl keeps no history, so only the current one."""
    if query.continue_token:
        if query.resource_version not in ("", "0"):
            raise ApiError("BadRequest", "specifying resource version is not allowed when "
                           "using continue")
        return decode_continue(query.continue_token, oldest)
    if query.resource_version in ("", "0"):
        return None
    try:
        wanted = parse_resource_version(query.resource_version)
    except ValueError as exc:
        raise ApiError("BadRequest", f"invalid resource version: {exc}") from exc
    exact = query.resource_version_match == EXACT or (
        not query.resource_version_match and query.limit > 0)
    if wanted > revision:
        raise too_large_resource_version(wanted, revision)
    if exact and wanted < revision:
        raise ApiError("Expired", "The resourceVersion for the provided list is too old.")
    return None


def too_large_resource_version(wanted: int, current: int) -> ApiError:
    return ApiError("Timeout", f"Timeout: Too large resource version: {wanted}, current: "
                    f"{current}", {"causes": [{"reason": "ResourceVersionTooLarge",
                                              "message": "Too large resource version"}],
                                   "retryAfterSeconds": 1})


def list_body(kind: str, page: Page, api_version: str | None = None) -> Obj:
    """The <Kind>List a LIST answers with."""
    list_meta: Obj = {"resourceVersion": page.resource_version}
    if page.continue_token:
        list_meta["continue"] = page.continue_token
        list_meta["remainingItemCount"] = page.remaining
    return {"kind": f"{kind_name(kind)}List", "apiVersion": api_version or meta.api_version(kind),
            "metadata": list_meta, "items": [with_type(kind, o, api_version) for o in page.items]}


def kind_name(kind: str) -> str:
    """The kind an object of the store key `kind` says it is (a custom kind's key carries
    its group: `CronTab.stable.example.com` is a CronTab)."""
    resource = meta.RESOURCES.get(kind)
    return resource.kind if resource is not None else kind


def with_type(kind: str, obj: Obj, api_version: str | None = None) -> Obj:
    """apiVersion and kind first, as the API server writes them; `api_version`: the one a
    request named, for a kind served in several (a custom one: conversion None rewrites
    only the apiVersion)."""
    return {"apiVersion": api_version or meta.api_version(kind), "kind": kind_name(kind),
            **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}}


def typed(target: Target, obj: Obj) -> Obj:
    """A stored object as the request's group version serves it."""
    if target.view is not None:
        return target.view.convert(obj)
    return with_type(target.kind, obj, target.group_version)


_URL_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")
CONTINUE_VERSION = "meta.k8s.io/v1"
INVALID_CONTINUE = "invalid continue token: continue key is not valid"
INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You "
    "can start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted "
    "between the time the first chunk was returned and now may show up in the list.")


def encode_continue(namespace: str, name: str, revision: int) -> str:
    """The API server's continue token: its version, the list's revision, and the key
    right after the last item."""
    key = f"{namespace}/{name}" if namespace else name
    token = {"v": CONTINUE_VERSION, "rv": revision, "start": key + "\x00"}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")


def decode_continue(token: str, oldest: int) -> tuple[str, str]:
    """(namespace, name) a continue token resumes after; BadRequest for one the server
    never made, Expired (with a token for the rest) for one older than `oldest`."""
    try:
        data = decode_json(_raw_url_b64decode(token)).value
    except (ValueError, BodyError) as exc:
        raise ApiError("BadRequest", f"{INVALID_CONTINUE}: {exc}") from exc
    if not isinstance(data, dict) or data.get("v") != CONTINUE_VERSION:
        version = data.get("v") if isinstance(data, dict) else None
        raise ApiError("BadRequest", f"{INVALID_CONTINUE}: server does not recognize this "
                       f"encoded version {version or ''}".rstrip())
    revision, start = data.get("rv"), data.get("start")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision == 0:
        raise ApiError("BadRequest", f"{INVALID_CONTINUE}: incorrect encoded start "
                       f"resourceVersion (version {CONTINUE_VERSION})")
    if not isinstance(start, str) or not start:
        raise ApiError("BadRequest", f"{INVALID_CONTINUE}: encoded start key empty "
                       f"(version {CONTINUE_VERSION})")
    key = start.removesuffix("\x00")
    if posixpath.normpath("/" + key) != "/" + key:
        raise ApiError("BadRequest", f"{INVALID_CONTINUE}: {start}")
    namespace, _, name = key.rpartition("/")
    if 0 < revision < oldest:
        raise ApiError("Expired", INCONSISTENT_CONTINUE,
                       metadata={"continue": encode_continue(namespace, name, -1)})
    return namespace, name


def _raw_url_b64decode(text: str) -> bytes:
    """base64.RawURLEncoding.DecodeString, with Go's error."""
    bad = next((i for i, ch in enumerate(text) if ch not in _URL_ALPHABET), None)
    if bad is None and len(text) % 4 == 1:
        bad = len(text) - 1
    if bad is not None:
        raise ValueError(f"illegal base64 data at input byte {bad}")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
