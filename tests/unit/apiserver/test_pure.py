"""Pure parts of the API server: field selectors, routing, Tables, Status bodies, discovery."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from podctl.apiserver import resources
from podctl.apiserver.fields import FieldSelectorError, matches, parse_field_selector
from podctl.apiserver.status import from_error, invalid
from podctl.apiserver.tables import build_table, wants_table
from podctl.errors import AlreadyExists, Conflict, NotFound
from podctl.printers.output import table

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                    "creationTimestamp": "2026-01-01T00:00:00Z", "uid": "u1"},
       "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "i"}]},
       "status": {"phase": "Running", "podIP": "10.0.0.5",
                  "containerStatuses": [{"name": "c", "ready": True, "restartCount": 2,
                                         "state": {"running": {}}}]}}


def test_field_selectors_as_kubectl_sends_them() -> None:
    assert matches(parse_field_selector("metadata.name=web,spec.nodeName==node1"), POD)
    assert not matches(parse_field_selector("status.phase!=Running"), POD)
    assert matches(parse_field_selector("metadata.namespace=default"), POD)
    assert matches(parse_field_selector("spec.missing="), POD)  # unset reads as ""
    assert parse_field_selector("") == []
    with pytest.raises(FieldSelectorError):
        parse_field_selector("metadata.name")


def test_escaped_values() -> None:
    reqs = parse_field_selector(r"metadata.name=a\,b")
    assert [(r.field, r.value) for r in reqs] == [("metadata.name", "a,b")]


def test_table_has_podctls_columns_and_cells() -> None:
    now = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    body = build_table("Pod", [POD], now)
    names = [(c["name"], c["priority"]) for c in body["columnDefinitions"]]
    assert names[:5] == [("NAME", 0), ("READY", 0), ("STATUS", 0), ("RESTARTS", 0),
                         ("AGE", 0)]
    assert ("IP", 1) in names and ("NODE", 1) in names
    row = body["rows"][0]
    assert row["cells"][:5] == ["web", "1/1", "Running", "2", "5m"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "web"
    # The same cells podctl's own printer lays out.
    printed = table([POD], now, wide=True, all_namespaces=False, show_labels=False,
                    label_columns=[])
    assert printed.splitlines()[1].split() == [c for c in row["cells"] if c]


def test_table_includes_the_object_when_asked() -> None:
    body = build_table("Pod", [POD], datetime.now(UTC), include_object="Object")
    assert body["rows"][0]["object"] is POD
    assert "object" not in build_table("Pod", [POD], datetime.now(UTC), "None")["rows"][0]


def test_accept_header_negotiation() -> None:
    kubectl = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;"
               "v=v1beta1;g=meta.k8s.io,application/json")
    assert wants_table(kubectl)
    assert not wants_table("application/json")
    assert not wants_table("application/json, application/json;as=Table;v=v1;g=meta.k8s.io")


def test_status_bodies_carry_kubectls_reasons() -> None:
    missing = from_error(NotFound("pods", "web")).status()
    assert (missing["code"], missing["reason"], missing["message"]) == (
        404, "NotFound", 'pods "web" not found')
    assert missing["details"] == {"name": "web", "kind": "pods"}
    exists = from_error(AlreadyExists("replicasets.apps", "rs"), "apps").status()
    assert exists["details"] == {"name": "rs", "kind": "replicasets", "group": "apps"}
    assert from_error(Conflict("pods", "web")).code == 409
    bad = invalid("Pod", "web", [("spec.containers[0].image", "Required value")]).status()
    assert bad["code"] == 422 and bad["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": "Required value",
         "field": "spec.containers[0].image"}]
    assert bad["message"] == 'Pod "web" is invalid: spec.containers[0].image: Required value'


def test_discovery_lists_every_kind_with_short_names_and_subresources() -> None:
    core = resources.resource_list("v1")
    assert core is not None
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["categories"] == ["all"]
    assert by_name["replicationcontrollers/scale"]["group"] == "autoscaling"
    assert "watch" in by_name["services"]["verbs"]
    apps = resources.resource_list("apps/v1")
    assert apps is not None
    assert {r["name"] for r in apps["resources"]} >= {"deployments", "replicasets",
                                                      "daemonsets", "deployments/scale"}
    groups = {g["name"] for g in resources.api_group_list()["groups"]}
    assert groups == {"apps", "events.k8s.io", "batch", "coordination.k8s.io",
                      "discovery.k8s.io", "policy",
                      "storage.k8s.io", "rbac.authorization.k8s.io", "authorization.k8s.io",
                      "authentication.k8s.io", "apiextensions.k8s.io",
                      "networking.k8s.io", "metrics.k8s.io", "autoscaling"}
    assert resources.resource_list("nosuch/v1") is None


def test_aggregated_discovery_holds_what_the_resource_lists_hold() -> None:
    """apidiscovery.k8s.io/v2: the same resources, verbs, names and subresources as the
    per-group-version lists, in one document for /api and one for /apis."""
    core, named = resources.aggregated(True), resources.aggregated(False)
    assert (core["kind"], core["apiVersion"]) == ("APIGroupDiscoveryList",
                                                  "apidiscovery.k8s.io/v2")
    assert [item["metadata"] for item in core["items"]] == [{"creationTimestamp": None}]
    assert [item["metadata"]["name"] for item in named["items"]] == \
        [group["name"] for group in resources.api_group_list()["groups"]]
    for item in core["items"] + named["items"]:
        group = item["metadata"].get("name", "")
        for version in item["versions"]:
            listed = resources.resource_list(f"{group}/{version['version']}" if group
                                             else version["version"])
            assert listed is not None and version["freshness"] == "Current"
            flat = []
            for entry in version["resources"]:
                flat.append((entry["resource"], entry["responseKind"]["kind"], entry["verbs"],
                             entry["scope"] == "Namespaced", entry.get("shortNames")))
                flat += [(f"{entry['resource']}/{sub['subresource']}",
                          sub["responseKind"]["kind"], sub["verbs"],
                          entry["scope"] == "Namespaced", None)
                         for sub in entry.get("subresources", [])]
            assert flat == [(r["name"], r["kind"], r["verbs"], r["namespaced"],
                             r.get("shortNames")) for r in listed["resources"]]
    deployments = next(r for item in named["items"] if item["metadata"]["name"] == "apps"
                       for r in item["versions"][0]["resources"]
                       if r["resource"] == "deployments")
    assert deployments["responseKind"] == {"group": "", "version": "", "kind": "Deployment"}
    assert {"subresource": "scale", "verbs": ["get", "patch", "update"], "responseKind": {
        "group": "autoscaling", "version": "v1", "kind": "Scale"}} in deployments["subresources"]


def test_events_k8s_io_serves_the_core_events_in_its_shape() -> None:
    from podctl.api import eventsv1

    target = resources.find("events.k8s.io", "v1", "events")
    assert target is not None and target.kind == "Event" and target.view is not None
    assert resources.find("events.k8s.io", "v1", "pods") is None
    assert list(resources.group_versions())[:3] == ["v1", "apps/v1", "events.k8s.io/v1"]
    core = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "p.1"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Pulled",
            "message": "pulled", "source": {"component": "kubelet"}, "count": 2,
            "firstTimestamp": "2026-12-06T17:00:00Z", "lastTimestamp": "2026-12-06T17:01:00Z",
            "type": "Normal", "reportingComponent": "", "eventTime": None}
    assert eventsv1.from_core(core) == {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "p.1"},
        "eventTime": None, "reason": "Pulled", "type": "Normal",
        "regarding": {"kind": "Pod", "name": "p"}, "note": "pulled",
        "deprecatedSource": {"component": "kubelet"},
        "deprecatedFirstTimestamp": "2026-12-06T17:00:00Z",
        "deprecatedLastTimestamp": "2026-12-06T17:01:00Z", "deprecatedCount": 2}


def test_kubectl_asks_for_aggregated_discovery_first() -> None:
    assert resources.wants_aggregated(
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
    assert not resources.wants_aggregated("application/json, */*")
    assert not resources.wants_aggregated(
        "application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    assert not resources.wants_aggregated(
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")
    assert not resources.wants_aggregated("")


def test_paths_name_resources_namespaces_and_subresources() -> None:
    from podctl.apiserver.routes import parse_call

    call = parse_call(["api", "v1", "namespaces", "ns1", "pods", "web", "log"])
    assert call is not None
    assert (call.target.kind, call.namespace, call.name, call.subresource) == (
        "Pod", "ns1", "web", "log")
    namespace = parse_call(["api", "v1", "namespaces", "ns1"])
    assert namespace is not None and (namespace.target.kind, namespace.name) == (
        "Namespace", "ns1")
    everywhere = parse_call(["apis", "apps", "v1", "deployments"])
    assert everywhere is not None and everywhere.namespace is None
    assert parse_call(["api", "v1", "nosuch"]) is None
    assert parse_call(["api", "v1", "pods", "web"]) is None  # a pod needs its namespace
