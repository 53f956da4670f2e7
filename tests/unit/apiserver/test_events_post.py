"""Events clients post (POST /api/v1/namespaces/NS/events): upstream's legacy checks and
wording, times as the server serialises them, stored beside podctl's own events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podctl.apiserver import events, writes
from podctl.apiserver.params import WriteOptions
from podctl.apiserver.status import ApiError
from podctl.store import open_store
from podctl.store.db import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path)


def kopf_event(**changes: Any) -> dict[str, Any]:
    """What kopf 1.45 posts about a ConfigMap."""
    now = datetime.now(UTC).isoformat()
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"namespace": "default", "generateName": "kopf-event-"},
        "action": "Action?", "type": "Normal", "reason": "ChildCreated", "message": "made it",
        "reportingComponent": "kopf", "reportingInstance": "dev",
        "source": {"component": "kopf"},
        "involvedObject": {"apiVersion": "v1", "kind": "ConfigMap", "name": "shop",
                           "namespace": "default", "uid": "u-1"},
        "firstTimestamp": now, "lastTimestamp": now, "eventTime": now,
    }
    body.update(changes)
    return body


def test_a_kopf_event_is_stored_and_listed(store: Store) -> None:
    at = "2026-12-06T17:31:44.865123+00:00"
    created = events.create(store, "default", kopf_event(
        firstTimestamp=at, lastTimestamp=at, eventTime=at), WriteOptions())
    md = created["metadata"]
    assert md["name"].startswith("kopf-event-") and len(md["name"]) == len("kopf-event-") + 5
    assert created["firstTimestamp"] == created["lastTimestamp"] == "2026-12-06T17:31:44Z"
    assert created["eventTime"] == "2026-12-06T17:31:44.865123Z"
    assert store.list_events("default") == [created]
    assert store.list_events("other") == []
    # describe reads the same row: who said it, how often
    assert store.events_for("u-1")[0] | {"firstTimestamp": "", "lastTimestamp": ""} == {
        "type": "Normal", "reason": "ChildCreated", "message": "made it", "source": "kopf",
        "count": 1, "fieldPath": "", "firstTimestamp": "", "lastTimestamp": ""}


def test_a_taken_name_is_already_exists(store: Store) -> None:
    named = kopf_event(metadata={"namespace": "default", "name": "ev1"})
    events.create(store, "default", named, WriteOptions())
    with pytest.raises(ApiError) as exc:
        events.create(store, "default", named, WriteOptions())
    assert exc.value.code == 409 and exc.value.message == 'events "ev1" already exists'


def test_dry_run_stores_nothing(store: Store) -> None:
    events.create(store, "default", kopf_event(), WriteOptions(dry_run=True))
    assert store.list_events() == []


def messages(event: dict[str, Any]) -> list[str]:
    return [f"{field}: {message}" for field, message in events.problems(event)]


def test_legacy_rules_in_upstreams_words() -> None:
    assert messages(kopf_event()) == []
    found = messages(kopf_event(reportingComponent="", reportingInstance="", action="",
                                reason="x" * 129, message="m" * 1025))
    # IsQualifiedName("") says both that the name is empty and that it does not match.
    assert found[1] == 'reportingController: Invalid value: "": name part must be non-empty'
    assert found[2].startswith('reportingController: Invalid value: "": name part must '
                               "consist of alphanumeric characters")
    assert [found[0], *found[3:]] == [
        "reportingController: Required value", "reportingInstance: Required value",
        "action: Required value",
        'reason: Invalid value: "": can have at most 128 characters',
        'message: Invalid value: "": can have at most 1024 characters']
    elsewhere = kopf_event(involvedObject={"kind": "Pod", "name": "p", "namespace": "other"})
    del elsewhere["eventTime"]
    assert messages(elsewhere) == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace']
    # A cluster-scoped object's events may live in default (or kube-system, with eventTime).
    node = kopf_event(involvedObject={"kind": "Node", "name": "n"})
    assert messages(node) == []
    node["metadata"]["namespace"] = "team"
    assert messages(node) == [
        'involvedObject.namespace: Invalid value: "": does not match event.namespace']


def test_an_invalid_event_is_refused_with_its_fields(store: Store) -> None:
    with pytest.raises(ApiError) as exc:
        events.create(store, "default", kopf_event(action=""), WriteOptions())
    assert exc.value.code == 422
    assert exc.value.message.startswith('Event "kopf-event-')
    assert exc.value.message.endswith('" is invalid: action: Required value')
    with pytest.raises(ApiError) as bad_time:
        events.create(store, "default", kopf_event(firstTimestamp="soon"), WriteOptions())
    assert bad_time.value.code == 400
    assert store.list_events() == []


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) |
                    st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
FIELDS = st.sampled_from(["involvedObject", "eventTime", "firstTimestamp", "lastTimestamp",
                          "reportingComponent", "reportingInstance", "action", "reason",
                          "message", "type", "count", "source", "metadata"])


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(FIELDS, JSON, max_size=4),
       name=st.one_of(JSON, st.text(max_size=300)))
def test_a_hostile_body_is_refused_in_words_or_stored(store: Store, changes: dict[str, Any],
                                                      name: Any) -> None:
    """Whatever a client posts is a 4xx Status or a stored Event, never a crash."""
    body = kopf_event(**changes)
    if isinstance(body.get("metadata"), dict):
        body["metadata"]["name"] = name
    try:
        writes.create(store, "Event", "default", body, WriteOptions())
    except ApiError as exc:
        assert 400 <= exc.code < 500, exc.message


@pytest.mark.parametrize(("name", "message"), [
    ("..", "Invalid value: \"..\": may not be '..'"),
    ("a/b", "Invalid value: \"a/b\": may not contain '/'"),
    ("", "Required value: name or generateName is required"),
])
def test_names_must_be_path_segments(store: Store, name: str, message: str) -> None:
    body = kopf_event(metadata={"namespace": "default", "name": name})
    with pytest.raises(ApiError) as exc:
        events.create(store, "default", body, WriteOptions())
    assert exc.value.details is not None
    assert exc.value.details["causes"] == [
        {"reason": "FieldValueInvalid", "message": message, "field": "metadata.name"}]


def test_a_posted_event_expires_an_hour_after_its_write(store: Store) -> None:
    """Whatever times the client wrote (kopf's may be old): the TTL counts from the write."""
    old = "2020-01-01T00:00:00Z"
    events.create(store, "default", kopf_event(firstTimestamp=old, lastTimestamp=old,
                                               eventTime=old), WriteOptions())
    events.create(store, "default", kopf_event(), WriteOptions())
    assert len(store.list_events("default")) == 2
