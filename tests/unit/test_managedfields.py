"""Structured merge and managedFields (podctl.api.managedfields) against what upstream's
structured-merge-diff and apiserver produce for the same inputs."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podctl.api.managedfields import fieldset as fp
from podctl.api.managedfields import manager, schema, typed
from podctl.api.managedfields.typed import MISSING

NOW, LATER = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"
DEPLOY = schema.type_for("apps/v1", "Deployment")
CM = schema.type_for("v1", "ConfigMap")


def deployment(replicas: int = 2, image: str = "nginx", **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": image,
                                 "ports": [{"containerPort": 80}], **extra}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [container]}}}}


def applied(obj: dict[str, Any], who: str = "kubectl", live: Any = MISSING,
            managed: manager.Managed | None = None, force: bool = False,
            t: schema.Type = DEPLOY) -> manager.Applied:
    return manager.apply(live, obj, managed or {}, who, obj["apiVersion"], t, NOW, force)


def test_an_apply_owns_exactly_the_fields_it_sets_in_upstreams_fieldsv1() -> None:
    result = applied(deployment())
    [entry] = manager.encode(result.managed)
    assert entry["manager"] == "kubectl" and entry["operation"] == "Apply"
    assert entry["apiVersion"] == "apps/v1" and entry["time"] == NOW
    fields = entry["fieldsV1"]
    assert fields["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert fields["f:spec"]["f:selector"] == {}  # LabelSelector is an atomic map
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    # an item is a member of its own (".") and ports are keyed with the protocol default
    assert container == {".": {}, "f:image": {}, "f:name": {}, "f:ports": {
        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}


def test_fieldsv1_round_trips_and_keeps_upstreams_key_order() -> None:
    fields = typed.to_field_set(deployment(), DEPLOY)
    encoded = fp.to_fields_v1(fields)
    assert fp.from_fields_v1(encoded) == fields
    assert list(encoded) == ["f:apiVersion", "f:kind", "f:metadata", "f:spec"]


def test_a_change_to_a_field_another_manager_owns_is_a_conflict_in_upstreams_words() -> None:
    first = applied(deployment())
    live = first.obj
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    managed = manager.update(live, scaled, first.managed, "kubectl-scale", "apps/v1", DEPLOY,
                             LATER)
    with pytest.raises(manager.ApplyConflict) as caught:
        applied(deployment(), live=scaled, managed=managed)
    assert str(caught.value) == ('Apply failed with 1 conflict: conflict with "kubectl-scale" '
                                 "using apps/v1: .spec.replicas")
    assert caught.value.causes() == [{"reason": "FieldManagerConflict", "message":
                                      'conflict with "kubectl-scale" using apps/v1',
                                      "field": ".spec.replicas"}]
    forced = applied(deployment(), live=scaled, managed=managed, force=True)
    assert forced.obj["spec"]["replicas"] == 2
    assert all(json_manager(k) != "kubectl-scale" for k in forced.managed)


def json_manager(identity: str) -> str:
    import json

    return str(json.loads(identity)["manager"])


def test_several_conflicts_are_listed_by_manager_then_path() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
          "data": {"a": "1", "b": "1"}}
    one = applied(cm, "one", t=CM)
    two = applied({**cm, "data": {"c": "1"}}, "two", live=one.obj, managed=one.managed, t=CM)
    with pytest.raises(manager.ApplyConflict) as caught:
        applied({**cm, "data": {"a": "2", "b": "2", "c": "2"}}, "three", live=two.obj,
                managed=two.managed, t=CM)
    assert str(caught.value) == ('Apply failed with 3 conflicts: conflicts with "one":\n'
                                 "- .data.a\n- .data.b\n"
                                 'conflicts with "two":\n- .data.c')


def test_the_same_value_is_shared_not_a_conflict() -> None:
    first = applied(deployment())
    second = applied(deployment(), "flux", live=first.obj, managed=first.managed)
    assert second.obj is None  # nothing changes, nothing is written
    assert {json_manager(k) for k in second.managed} == {"kubectl", "flux"}


def test_a_field_the_applier_alone_set_goes_when_it_stops_applying_it() -> None:
    first = applied(deployment(env=[{"name": "A", "value": "1"}]))
    second = applied(deployment(), live=first.obj, managed=first.managed)
    container = second.obj["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container
    assert container["image"] == "nginx"


def test_a_field_another_manager_also_owns_stays_when_one_stops_applying_it() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
          "data": {"a": "1", "b": "1"}}
    one = applied(cm, "one", t=CM)
    two = applied(cm, "two", live=one.obj, managed=one.managed, t=CM)
    assert two.obj is None
    three = applied({**cm, "data": {"a": "1"}}, "one", live=one.obj, managed=two.managed,
                    t=CM)
    assert three.obj is None or three.obj["data"] == {"a": "1", "b": "1"}


def test_keyed_lists_merge_by_key_and_keep_the_live_items() -> None:
    live = {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}
    config = {"spec": {"containers": [{"name": "c", "image": "z"}, {"name": "b", "image": "w"}]}}
    pod = schema.type_for("v1", "Pod")
    merged = typed.merge(live, config, pod)
    assert [(c["name"], c["image"]) for c in merged["spec"]["containers"]] == [
        ("a", "x"), ("c", "z"), ("b", "w")]


def test_atomic_lists_and_maps_are_replaced_whole() -> None:
    pod = schema.type_for("v1", "Pod")
    live = {"metadata": {"labels": {"x": "1"}},
            "spec": {"containers": [{"name": "a", "args": ["1", "2"]}],
                     "nodeSelector": {"x": "1"}}}
    config = {"metadata": {"labels": {"y": "2"}},
              "spec": {"containers": [{"name": "a", "args": ["3"]}], "nodeSelector": {"y": "2"}}}
    merged = typed.merge(live, config, pod)
    assert merged["spec"]["containers"][0]["args"] == ["3"]
    assert merged["spec"]["nodeSelector"] == {"y": "2"}  # +mapType=atomic upstream
    assert merged["metadata"]["labels"] == {"x": "1", "y": "2"}  # a granular map


def test_sets_of_scalars_union() -> None:
    live = {"metadata": {"finalizers": ["a", "b"]}}
    merged = typed.merge(live, {"metadata": {"finalizers": ["c", "a"]}}, CM)
    # upstream's order: applied items around the shared ones, live-only ones after
    assert merged["metadata"]["finalizers"] == ["c", "a", "b"]


def test_an_update_records_what_it_changed_with_upstreams_member_marks() -> None:
    created = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "x", "namespace": "default", "labels": {"a": "b"}},
               "data": {"k": "v"}}
    managed = manager.update(MISSING, created, {}, "kubectl-create", "v1", CM, NOW)
    [entry] = manager.encode(managed)
    assert entry["operation"] == "Update" and entry["manager"] == "kubectl-create"
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:k": {}},
                                 "f:metadata": {"f:labels": {".": {}, "f:a": {}}}}
    edited = copy.deepcopy(created)
    edited["data"]["k"] = "w"
    later = manager.update(created, edited, managed, "kubectl-edit", "v1", CM, LATER)
    entries = {e["manager"]: e for e in manager.encode(later)}
    assert entries["kubectl-edit"]["fieldsV1"] == {"f:data": {"f:k": {}}}
    assert entries["kubectl-create"]["fieldsV1"] == {
        "f:data": {}, "f:metadata": {"f:labels": {".": {}, "f:a": {}}}}
    assert manager.update(edited, edited, later, "x", "v1", CM, LATER) == later


def test_entries_sort_as_upstream_and_decode_back() -> None:
    first = applied(deployment())
    scaled = copy.deepcopy(first.obj)
    scaled["spec"]["replicas"] = 3
    managed = manager.update(first.obj, scaled, first.managed, "a-scaler", "apps/v1", DEPLOY,
                             LATER)
    encoded = manager.encode(managed)
    assert [(e["operation"], e["manager"]) for e in encoded] == [
        ("Apply", "kubectl"), ("Update", "a-scaler")]
    assert manager.decode(encoded) == managed


def test_bad_managed_fields_are_refused_on_decoding() -> None:
    with pytest.raises(ValueError, match="operation must be"):
        manager.decode([{"manager": "x", "operation": "Bad", "apiVersion": "v1",
                         "fieldsType": "FieldsV1"}])
    with pytest.raises(ValueError, match="missing fieldsType"):
        manager.decode([{"manager": "x", "operation": "Update", "apiVersion": "v1"}])


def test_keyed_items_without_their_keys_are_schema_errors() -> None:
    pod = schema.type_for("v1", "Pod")
    with pytest.raises(typed.SchemaError, match="omits all key fields"):
        typed.to_field_set({"spec": {"containers": [{"image": "x"}]}}, pod)
    with pytest.raises(typed.SchemaError, match="duplicate entries"):
        typed.merge({}, {"spec": {"containers": [{"name": "a"}, {"name": "a"}]}}, pod)


def test_path_strings_are_upstreams() -> None:
    path = (fp.field("spec"), fp.field("ports"), fp.key({"port": 80, "protocol": "TCP"}),
            fp.field("name"))
    assert fp.path_string(path) == '.spec.ports[port=80,protocol="TCP"].name'
    assert fp.path_string((fp.field("f"), fp.value("x"))) == '.f[="x"]'


def test_a_registered_schema_source_is_asked_first() -> None:
    crd = schema.Schema({"type": "object", "properties": {"spec": {"type": "object",
                         "properties": {"items": {"type": "array", "x-kubernetes-list-type":
                                                  "map", "x-kubernetes-list-map-keys": ["id"],
                                                  "items": {"type": "object"}}}}}}, {})

    def source(api_version: str, kind: str) -> schema.Schema | None:
        return crd if kind == "CronTab" else None

    schema.register(source)
    try:
        t = schema.type_for("stable.example.com/v1", "CronTab")
        merged = typed.merge({"spec": {"items": [{"id": 1, "a": 1}]}},
                             {"spec": {"items": [{"id": 2}]}}, t)
        assert merged["spec"]["items"] == [{"id": 1, "a": 1}, {"id": 2}]
    finally:
        schema.unregister(source)
    untyped = schema.type_for("stable.example.com/v1", "CronTab")
    assert typed.merge({"spec": {"items": [1]}}, {"spec": {"items": [2]}},
                       untyped) == {"spec": {"items": [2]}}


def test_update_managers_are_capped_into_ancient_changes() -> None:
    cm: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                          "data": {}}
    managed: manager.Managed = {}
    for i in range(12):
        new = copy.deepcopy(cm)
        new["data"][f"k{i}"] = "v"
        managed = manager.update(cm, new, managed, f"m{i:02d}", "v1", CM,
                                 f"2026-01-01T00:00:{i:02d}Z")
        cm = new
    names = [e["manager"] for e in manager.encode(managed)]
    assert len(names) == 10 and names[0] == "ancient-changes"
    ancient = manager.encode(managed)[0]
    assert ancient["fieldsV1"]["f:data"].keys() >= {"f:k0", "f:k1", "f:k2"}
    assert ancient["time"] == "2026-01-01T00:00:02Z"


def test_reapplying_what_is_still_owned_skips_a_prune_that_would_change_nothing() -> None:
    first = applied(deployment(env=[{"name": "A", "value": "1"}]))
    scaled = copy.deepcopy(first.obj)
    scaled["spec"]["replicas"] = 7
    managed = manager.update(first.obj, scaled, first.managed, "hpa", "apps/v1", DEPLOY, LATER)
    config = deployment(replicas=7, env=[{"name": "A", "value": "1"}])
    again = applied(config, live=scaled, managed=managed)
    key = manager.identity("kubectl", manager.APPLY, "apps/v1")
    merged = typed.merge(scaled, config, DEPLOY)
    assert manager._prune(merged, again.managed, first.managed[key].fields, DEPLOY) == merged


names = st.text(alphabet="abcxyz.-_/<&", min_size=1, max_size=4)


@given(st.dictionaries(names, st.text(max_size=3), max_size=6),
       st.dictionaries(names, st.text(max_size=3), max_size=6))
def test_a_sole_applier_ends_with_exactly_what_it_applies_last(
        first: dict[str, str], second: dict[str, str]) -> None:
    def cm(data: dict[str, str]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                "data": data}

    one = applied(cm(first), t=CM)
    two = applied(cm(second), live=one.obj, managed=one.managed, t=CM)
    result = two.obj if two.obj is not None else one.obj
    assert (result.get("data") or {}) == second
    for entry in manager.encode(two.managed):
        assert fp.from_fields_v1(entry["fieldsV1"]) == \
            manager.decode([entry])[manager.identity("kubectl", manager.APPLY, "v1")].fields
