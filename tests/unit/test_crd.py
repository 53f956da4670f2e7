"""CustomResourceDefinitions: the definition's rules, a custom resource's structural schema
(pruning, defaults, validation wording), the store key that keeps custom kinds from meeting
built-in ones, printer columns, describe's labels, and the registry and collector over a
real store."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from podctl import registry
from podctl.api import crd, crschema, meta
from podctl.controllers import customresources
from podctl.controllers.deletion import delete_object
from podctl.errors import Invalid, ServerError
from podctl.printers import custom
from podctl.store import Store, db, open_store

CRONTAB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {
            "cronSpec": {"type": "string", "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"},
            "image": {"type": "string"},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
            "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
            "mode": {"type": "string", "enum": ["a", "b"]},
            "port": {"x-kubernetes-int-or-string": True},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                         "properties": {"spec": {"type": "object"}}},
        }},
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
    },
}


def definition(group: str = "stable.example.com", kind: str = "CronTab",
               plural: str = "crontabs", scope: str = "Namespaced",
               schema: dict[str, Any] | None = None, **version: Any) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope,
                     "names": {"plural": plural, "kind": kind, "shortNames": ["ct"]},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema or CRONTAB_SCHEMA},
                                   **version}]}}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    yield open_store(tmp_path)
    # the served kinds are the process's: the next test starts with none
    crd.register([])
    monkeypatch.setattr(db, "_kinds_seen", None)


# -- the definition ----------------------------------------------------------------------------

def test_a_definition_is_checked_as_upstream_checks_it() -> None:
    assert crd.validate(definition()) == []
    bad = definition()
    bad["metadata"]["name"] = "crontab.stable.example.com"
    bad["spec"]["versions"].append({"name": "v2", "served": True, "storage": True,
                                    "schema": {"openAPIV3Schema": {"type": "object"}}})
    bad["spec"]["scope"] = "Global"
    causes = dict(crd.validate(bad))
    assert causes["metadata.name"] == ('Invalid value: "crontab.stable.example.com": must be '
                                       'spec.names.plural+"."+spec.group')
    assert causes["spec.scope"] == ('Unsupported value: "Global": supported values: '
                                    '"Cluster", "Namespaced"')
    assert "must have exactly one version marked as storage version" in causes["spec.versions"]
    untyped = definition(schema={"type": "object", "properties": {"spec": {}}})
    assert crd.validate(untyped) == [(
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type",
        "Required value: must not be empty for specified object fields")]
    hostile = definition(schema={"type": "object", "properties": {
        "a": {"type": "integer", "maximum": "ten"}, "b": {"type": "string", "pattern": "("}}})
    assert [f for f, _ in crd.validate(hostile)] == [
        "spec.versions[0].schema.openAPIV3Schema.properties[a].maximum",
        "spec.versions[0].schema.openAPIV3Schema.properties[b].pattern"]
    deep: dict[str, Any] = {"type": "object"}
    for _ in range(100):
        deep = {"type": "object", "properties": {"x": deep}}
    assert "must not be nested" in crd.validate(definition(schema=deep))[0][1]


def test_versions_are_preferred_in_kube_order() -> None:
    order = sorted(["v1alpha1", "v1", "v2beta1", "v2", "v1beta2", "foo"],
                   key=crd.version_priority)
    assert order == ["v2", "v1", "v2beta1", "v1beta2", "v1alpha1", "foo"]


def test_a_kind_is_keyed_by_its_group_and_never_meets_a_built_in(store: Store) -> None:
    clash = definition(group="clash.example.com", kind="Pod", plural="pods")
    registry.create(store, clash)
    assert meta.RESOURCES["Pod.clash.example.com"].custom
    assert meta.kind_for("pods") == "Pod"  # kubectl's word keeps naming the core kind
    assert meta.kind_for("pods.clash.example.com") == "Pod.clash.example.com"
    mine = registry.create(store, {"apiVersion": "clash.example.com/v1", "kind": "Pod",
                                   "metadata": {"name": "p"}, "spec": {"image": "x"}})
    assert meta.key_of(mine) == "Pod.clash.example.com"
    assert store.get("Pod", "default", "p") is None
    assert store.get("Pod.clash.example.com", "default", "p") == mine


# -- a custom resource's schema ------------------------------------------------------------------

def test_unknown_fields_are_pruned_outside_preserved_and_embedded_parts() -> None:
    obj = {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "c"},
           "spec": {"cronSpec": "* * * * *", "junk": 1, "extra": {"any": {"thing": 1}},
                    "labels": {"a": "b"}, "tags": ["x"],
                    "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t"},
                                 "spec": {}, "bogus": 2}},
           "top": True}
    dropped = crschema.prune(obj, CRONTAB_SCHEMA)
    assert sorted(dropped) == ["spec.junk", "spec.template.bogus", "top"]
    assert obj["spec"]["extra"] == {"any": {"thing": 1}}
    assert obj["spec"]["template"]["metadata"] == {"name": "t"}


def test_defaults_fill_absent_fields() -> None:
    obj: dict[str, Any] = {"spec": {"cronSpec": "* * * * *"}}
    crschema.apply_defaults(obj, CRONTAB_SCHEMA)
    assert obj["spec"]["replicas"] == 1
    obj = {"spec": {"replicas": 3}}
    crschema.apply_defaults(obj, CRONTAB_SCHEMA)
    assert obj["spec"]["replicas"] == 3


def test_validation_names_the_field_in_upstream_words() -> None:
    obj = {"spec": {"cronSpec": "* * * *", "replicas": 15, "tags": ["a", "b", "c"],
                    "mode": "c", "port": 1.5, "labels": {"x": 1}}}
    assert crschema.validate(obj, CRONTAB_SCHEMA) == [
        ("spec.cronSpec", "Invalid value: \"* * * *\": spec.cronSpec in body should match "
         r"'^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'"),
        ("spec.replicas", "Invalid value: 15: spec.replicas in body should be less than or "
         "equal to 10"),
        ("spec.tags", "Too many: 3: must have at most 2 items"),
        ("spec.mode", 'Unsupported value: "c": supported values: "a", "b"'),
        ("spec.port", 'Invalid value: "number": spec.port in body must be of type '
         'integer-or-string: "number"'),
        ("spec.labels.x", 'Invalid value: "integer": spec.labels.x in body must be of type '
         'string: "integer"'),
    ]
    assert crschema.validate({"spec": {"replicas": 0, "port": "http"}}, CRONTAB_SCHEMA) == [
        ("spec.replicas", "Invalid value: 0: spec.replicas in body should be greater than or "
         "equal to 1")]
    required = {"type": "object", "required": ["spec"], "properties": {
        "spec": {"type": "object", "required": ["image"]}}}
    assert crschema.validate({}, required) == [("spec", "Required value")]
    assert crschema.validate({"spec": {}}, required) == [("spec.image", "Required value")]


# -- served: the registry, printer columns, describe ---------------------------------------------

def test_a_resource_is_stored_defaulted_at_the_storage_version(store: Store) -> None:
    created = registry.create(store, definition(additionalPrinterColumns=[
        {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Wide", "type": "string", "jsonPath": ".spec.image", "priority": 1}],
        subresources={"status": {}}))
    assert crd.established(created)
    assert created["metadata"]["finalizers"] == [crd.CLEANUP_FINALIZER]
    obj = registry.create(store, {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                                  "metadata": {"name": "c"}, "status": {"replicas": 4},
                                  "spec": {"cronSpec": "* * * * *", "image": "i"}})
    assert obj["spec"]["replicas"] == 1 and obj["metadata"]["generation"] == 1
    assert "status" not in obj  # the status subresource's to write
    with pytest.raises(Invalid, match=r'The CronTab "d" is invalid: spec.replicas: Invalid '
                                      r"value: 11: spec.replicas in body should be less"):
        registry.create(store, {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                                "metadata": {"name": "d"}, "spec": {"replicas": 11}})
    key = "CronTab.stable.example.com"
    now = datetime.now(UTC)
    assert custom.headers(key) == (["NAME", "SPEC", "REPLICAS"], ["WIDE"])
    assert custom.shown_headers(key) == ["NAME", "SPEC", "REPLICAS", "WIDE"]
    assert custom.cells(key, obj, now) == ["c", "* * * * *", 1, "i"]
    assert custom.row_function(key)(obj, now, False) == ["c", "* * * * *", "1"]
    assert custom.row_function(key)(obj, now, True) == ["c", "* * * * *", "1", "i"]
    changed = copy.deepcopy(obj)
    changed["spec"]["image"] = "j"
    changed["status"] = {"replicas": 9}
    updated = registry.update(store, changed)
    assert updated["metadata"]["generation"] == 2 and "status" not in updated


def test_describe_labels_fields_as_kubectl_does() -> None:
    assert [custom.smart_label(f) for f in ("cronSpec", "uid", "apiVersion", "HTTPServer",
                                            "v1beta1", "x-y")] == [
        "Cron Spec", "UID", "API Version", "HTTP Server", "v1beta1", "X - Y"]


def test_a_definitions_kind_with_the_same_name_is_not_accepted(store: Store) -> None:
    registry.create(store, definition())
    second = registry.create(store, definition(plural="crontabz"))
    assert crd.condition(second, "NamesAccepted") == {
        "type": "NamesAccepted", "status": "False", "reason": "KindConflict",
        "message": '"CronTab" is already in use',
        "lastTransitionTime": second["status"]["conditions"][0]["lastTransitionTime"]}
    assert not crd.established(second)


def test_deleting_the_definition_deletes_its_objects_and_the_collector_their_dependents(
        store: Store) -> None:
    registry.create(store, definition())
    owner = registry.create(store, {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                                    "metadata": {"name": "c"}, "spec": {}})
    ref = {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "name": "c",
           "uid": meta.uid_of(owner)}
    registry.create(store, {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "child", "ownerReferences": [ref]}})
    delete_object(store, "CronTab.stable.example.com", "default", "c")
    customresources.collect(store)
    assert store.get("ConfigMap", "default", "child") is None
    registry.create(store, {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                            "metadata": {"name": "held", "finalizers": ["x/y"]}, "spec": {}})
    delete_object(store, "CustomResourceDefinition", "", "crontabs.stable.example.com")
    assert customresources.sync_definition(store, "crontabs.stable.example.com")
    terminating = store.get("CustomResourceDefinition", "", "crontabs.stable.example.com")
    assert terminating is not None and crd.condition(terminating, "Terminating")
    with pytest.raises(ServerError, match="create not allowed while custom resource "
                                          "definition is terminating"):
        registry.create(store, {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                                "metadata": {"name": "late"}, "spec": {}})
    registry.mutate(store, "CronTab.stable.example.com", "default", "held",
                    lambda o: bool(o["metadata"].pop("finalizers")))
    assert not customresources.sync_definition(store, "crontabs.stable.example.com")
    assert store.get("CustomResourceDefinition", "", "crontabs.stable.example.com") is None
    assert "CronTab.stable.example.com" not in meta.RESOURCES


def test_patterns_are_re2s_linear_and_refused_when_re2_refuses_them() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "(a+)+$"}}}
    # Python's re backtracks on this for longer than the suite runs; RE2 answers at once
    assert crschema.validate({"s": "a" * 50000 + "!"}, schema)[0][1].endswith(
        "s in body should match '(a+)+$'")
    lookahead = definition(schema={"type": "object", "properties": {
        "s": {"type": "string", "pattern": "(?=a)"}}})
    assert crd.validate(lookahead) == [(
        "spec.versions[0].schema.openAPIV3Schema.properties[s].pattern",
        "Invalid value: \"(?=a)\": must be a valid regular expression, but isn't: error "
        "parsing regexp: invalid perl operator: (?=")]


def test_a_custom_resource_scales_along_its_definitions_paths(store: Store) -> None:
    from podctl.apiserver.writes import scale_of
    from podctl.controllers.replication import set_replicas

    schema = copy.deepcopy(CRONTAB_SCHEMA)
    schema["properties"]["status"]["properties"]["selector"] = {"type": "string"}
    registry.create(store, definition(schema=schema, subresources={"scale": {
        "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector"}}))
    registry.create(store, {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                            "metadata": {"name": "c"}, "spec": {"replicas": 2},
                            "status": {"replicas": 2, "selector": "app=c"}})
    key = "CronTab.stable.example.com"
    assert set_replicas(store, key, "default", "c", 5) == 2
    stored = store.get(key, "default", "c")
    assert stored is not None
    scale = scale_of(stored)
    assert (scale["spec"], scale["status"]) == ({"replicas": 5},
                                                {"replicas": 2, "selector": "app=c"})
    assert stored["metadata"]["generation"] == 2
    with pytest.raises(Invalid, match="should be less than or equal to 10"):
        set_replicas(store, key, "default", "c", 11)


def test_explain_reads_the_definitions_schema(store: Store) -> None:
    from podctl.manifest.explain import explain

    registry.create(store, definition())
    text = explain("CronTab.stable.example.com", ["spec"])
    assert text.startswith("GROUP:      stable.example.com\nKIND:       CronTab\n"
                           "VERSION:    v1\n\nFIELD: spec <Object>\n")
    assert "  tags\t<[]string>\n" in text and "  labels\t<map[string]string>\n" in text
    assert "  port\t<Object>\n" in text


def test_formats_and_map_lists_are_checked() -> None:
    schema = {"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"},
        "ip": {"type": "string", "format": "ipv4"},
        "when": {"type": "string", "format": "date-time"},
        "odd": {"type": "string", "format": "no-such-format"},
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}
    good = {"id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "ip": "10.0.0.1",
            "when": "2026-01-02T03:04:05Z", "odd": "anything",
            "ports": [{"name": "a"}, {"name": "b"}]}
    assert crschema.validate(good, schema) == []
    bad = {"id": "x", "ip": "10.0.0", "when": "yesterday", "ports": [{"name": "a"}, {"name": "a"}]}
    assert crschema.validate(bad, schema) == [
        ("id", 'Invalid value: "x": id in body must be of type uuid: "x"'),
        ("ip", 'Invalid value: "10.0.0": ip in body must be of type ipv4: "10.0.0"'),
        ("when", 'Invalid value: "yesterday": when in body must be of type date-time: '
                 '"yesterday"'),
        ("ports[1]", 'Duplicate value: map[string]interface {}{"name":"a"}'),
    ]


def test_selectable_fields_select(store: Store) -> None:
    from podctl.apiserver import fields

    registry.create(store, definition(selectableFields=[{"jsonPath": ".spec.image"}]))
    key = "CronTab.stable.example.com"
    wanted = fields.parse_field_selector("spec.image=a", key)
    assert fields.matches(wanted, {"spec": {"image": "a"}})
    assert not fields.matches(wanted, {"spec": {"image": "b"}})
    with pytest.raises(fields.FieldSelectorError, match=r'"spec.cronSpec" is not a known '
                       r'field selector: only "metadata.name", "metadata.namespace", '
                       r'"spec.image"'):
        fields.parse_field_selector("spec.cronSpec=x", key)


def test_a_definitions_scope_is_immutable(store: Store) -> None:
    created = registry.create(store, definition())
    changed = copy.deepcopy(created)
    changed["spec"]["scope"] = "Cluster"
    with pytest.raises(Invalid, match=r'spec\.scope: Invalid value: "Cluster": field is '
                                      r'immutable'):
        registry.update(store, changed)


def test_wide_columns_print_where_they_are_declared(store: Store) -> None:
    from podctl.printers.output import table

    registry.create(store, definition(additionalPrinterColumns=[
        {"name": "Image", "type": "string", "jsonPath": ".spec.image", "priority": 1},
        {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}]))
    obj = registry.create(store, {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                                  "metadata": {"name": "c"},
                                  "spec": {"cronSpec": "* * * * *", "image": "i"}})
    now = datetime.now(UTC)
    lines = table([obj], now, wide=True, all_namespaces=False, show_labels=False,
                  label_columns=[]).splitlines()
    assert [line.split(maxsplit=2)[:2] for line in lines] == [["NAME", "IMAGE"], ["c", "i"]]
    narrow = table([obj], now, wide=False, all_namespaces=False, show_labels=False,
                   label_columns=[]).splitlines()
    assert narrow[0].split() == ["NAME", "SPEC"] and narrow[1].split()[0] == "c"


def test_the_collector_takes_any_kinds_dependents_but_the_pod_owners_own(store: Store) -> None:
    """An operator's child of a built-in owner goes with it, as upstream's collector does;
    pods and pod owners are left to their own passes, which look at their owners."""
    parent = registry.create(store, {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "parent"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "parent",
           "uid": meta.uid_of(parent)}
    registry.create(store, {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "child", "ownerReferences": [ref]}})
    registry.create(store, {"apiVersion": "v1", "kind": "Secret",
                            "metadata": {"name": "kept", "ownerReferences": [
                                ref, {**ref, "name": "other", "uid": "still-there"}]}})
    store.create({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "other", "namespace": "default", "uid": "still-there"}})
    gone_rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "gone",
               "controller": True}
    store.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p", "namespace": "default", "uid": "pod-uid", "ownerReferences": [gone_rs]},
        "spec": {"containers": [{"name": "c", "image": "i"}]}})
    customresources.collect(store, frozenset({"Pod"}))
    assert store.get("ConfigMap", "default", "child") is not None  # its owner is there
    delete_object(store, "ConfigMap", "default", "parent")
    customresources.collect(store, frozenset({"Pod"}))
    assert store.get("ConfigMap", "default", "child") is None
    assert store.get("Secret", "default", "kept") is not None  # one owner is left
    assert store.get("Pod", "default", "p") is not None
