"""POST of core v1 Events: what operators (kopf, client-go's legacy recorder) write about
their objects. Checked as upstream checks an Event created through the v1 API (its legacy
rules only), times re-serialised as the server's types do, stored beside podctl's own
events so `get events` and `describe` show both. No HTTP here."""

from __future__ import annotations

from typing import Any

from podctl.api import meta
from podctl.api.labels import go_quote
from podctl.api.meta import Obj
from podctl.apiserver.bodies import json_kind
from podctl.apiserver.params import WriteOptions
from podctl.apiserver.status import ApiError, invalid
from podctl.errors import AlreadyExists
from podctl.manifest.names import dns1123_subdomain, qualified_name
from podctl.registry import strategy
from podctl.store import Store

# Upstream's limits on an Event that carries an eventTime (pkg/apis/core/validation).
REPORTING_INSTANCE_MAX = 128
ACTION_MAX = 128
REASON_MAX = 128
NOTE_MAX = 1024
# metav1.Time fields serialise to whole seconds, the MicroTime eventTime to microseconds.
SECOND_TIMES = ("firstTimestamp", "lastTimestamp")
GO_TIME_LAYOUT = "2006-01-02T15:04:05Z07:00"


# The Event's fields and their Go types, as the decoder names them in its errors (JSON null
# is every field's zero value).
STRING_FIELDS = ("reason", "message", "type", "action", "reportingComponent",
                 "reportingInstance", "firstTimestamp", "lastTimestamp", "eventTime")
OBJECT_FIELDS = {"involvedObject": "v1.ObjectReference", "source": "v1.EventSource",
                 "related": "v1.ObjectReference", "series": "v1.EventSeries"}


def create(store: Store, namespace: str, body: Obj, opts: WriteOptions) -> Obj:
    """The Event as stored (the body already decoded into the request's namespace)."""
    event: Obj = meta.clone(body)
    _check_types(event)
    _normalise_times(event)
    md = event["metadata"]
    for key in strategy.SERVER_FIELDS:
        md.pop(key, None)
    strategy.generate_name(event)
    name = str(md.get("name") or "")
    causes = problems(event) + _name_problems(name)
    if causes:
        raise invalid("Event", name, causes)
    if opts.dry_run:
        md["uid"] = meta.new_uid()
        md["creationTimestamp"] = meta.now_rfc3339()
        return event
    try:
        return store.post_event(event)
    except AlreadyExists as exc:
        raise ApiError("AlreadyExists", f'events "{name}" already exists',
                       {"name": name, "kind": "events"}) from exc


def problems(event: Obj) -> list[tuple[str, str]]:
    """Upstream's legacy checks (every Event created through v1 passes them): the involved
    object's namespace agrees with the Event's, and an Event with an eventTime says who
    reported it, what it did and why."""
    namespace = meta.namespace_of(event)
    involved = event.get("involvedObject") or {}
    involved_ns = str(involved.get("namespace") or "")
    mismatch = ("involvedObject.namespace", f"Invalid value: {go_quote(involved_ns)}: does "
                "not match event.namespace")
    out: list[tuple[str, str]] = []
    if not event.get("eventTime"):
        if involved_ns != namespace and (involved_ns or namespace not in ("", "default")):
            out.append(mismatch)
    else:
        if not involved_ns and namespace not in ("default", "kube-system"):
            out.append(mismatch)
        out += _reporting_problems(event)
    out += [("namespace", f"Invalid value: {go_quote(namespace)}: {msg}")
            for msg in dns1123_subdomain(namespace)]
    return out


def _name_problems(name: str) -> list[tuple[str, str]]:
    """The common ObjectMeta check every create runs after the kind's: a name that can be
    a path segment (ValidatePathSegmentName)."""
    if not name:
        return [("metadata.name", "Required value: name or generateName is required")]
    if name in (".", ".."):
        return [("metadata.name", f"Invalid value: {go_quote(name)}: may not be "
                 f"'{name}'")]
    return [("metadata.name", f"Invalid value: {go_quote(name)}: may not contain '{c}'")
            for c in "/%" if c in name]


def _reporting_problems(event: Obj) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    controller = str(event.get("reportingComponent") or "")
    if not controller:
        out.append(("reportingController", "Required value"))
    out += [("reportingController", f"Invalid value: {go_quote(controller)}: {msg}")
            for msg in qualified_name(controller)]
    for field, key, limit in (("reportingInstance", "reportingInstance",
                               REPORTING_INSTANCE_MAX),
                              ("action", "action", ACTION_MAX),
                              ("reason", "reason", REASON_MAX)):
        value = str(event.get(key) or "")
        if not value:
            out.append((field, "Required value"))
        elif len(value) > limit:
            out.append((field, f'Invalid value: "": can have at most {limit} characters'))
    if len(str(event.get("message") or "")) > NOTE_MAX:
        out.append(("message", f'Invalid value: "": can have at most {NOTE_MAX} characters'))
    return out


def _check_types(event: Obj) -> None:
    """What Go's decoder refuses: a field of the wrong JSON type (podctl's schema of the
    strict kinds has no Event)."""
    def refuse(field: str, value: Any, go_type: str) -> ApiError:
        return ApiError("BadRequest", 'Event in version "v1" cannot be handled as a Event: '
                        f"json: cannot unmarshal {json_kind(value)} into Go struct field "
                        f"Event.{field} of type {go_type}")

    for field in STRING_FIELDS:
        value = event.get(field)
        if value is not None and not isinstance(value, str):
            raise refuse(field, value, "string")
    for field, go_type in OBJECT_FIELDS.items():
        value = event.get(field)
        if value is not None and not isinstance(value, dict):
            raise refuse(field, value, go_type)
    for field in ("involvedObject", "source"):
        for key, value in dict(event.get(field) or {}).items():
            if value is not None and not isinstance(value, str):
                raise refuse(f"{field}.{key}", value, "string")
    count = event.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise refuse("count", count, "int32")
    if event.get("metadata") is not None and not isinstance(event["metadata"], dict):
        raise refuse("metadata", event["metadata"], "v1.ObjectMeta")
    event["metadata"] = dict(event.get("metadata") or {})
    for key in ("name", "generateName", "namespace"):
        value = event["metadata"].get(key)
        if value is not None and not isinstance(value, str):
            raise refuse(f"metadata.{key}", value, "string")


def _normalise_times(event: Obj) -> None:
    """Times as the server stores them: UTC, `Z`; a value that is no RFC 3339 time is
    refused as the decoder refuses it."""
    for key in (*SECOND_TIMES, "eventTime"):
        value = event.get(key)
        if value is None:
            continue
        try:
            parsed = meta.parse_time(str(value))
        except ValueError as exc:
            raise ApiError("BadRequest", 'Event in version "v1" cannot be handled as a '
                           f'Event: parsing time {go_quote(str(value))} as '
                           f'"{GO_TIME_LAYOUT}": cannot parse {go_quote(str(value))} as '
                           '"2006"') from exc
        event[key] = meta.format_time(parsed) if key in SECOND_TIMES else \
            parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
