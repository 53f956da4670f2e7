"""autoscaling/v1 HorizontalPodAutoscalers: the stored autoscaling/v2 objects converted as
upstream's pkg/apis/autoscaling/v1 conversion does, served beside v2 through the API's
router (aiohttp's test server over a store) and accepted by `podctl create|apply -f`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podctl.api import hpav1
from podctl.apiserver import resources
from podctl.manifest.check import check_document
from podctl.manifest.load import parse_text
from podctl.store import Store, open_store
from tests.unit.apiserver.test_hostile_dispatch import Call, serve

V1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
V2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


def v1_hpa(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name},
            "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5, **spec}}


def cpu(utilization: int) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": utilization}}}


MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {
    "type": "AverageValue", "averageValue": "100Mi"}}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = open_store(tmp_path)
    yield made
    made.close()


# -- the conversion -----------------------------------------------------------------------------

def test_the_cpu_target_is_a_utilisation_metric_and_none_means_80_percent() -> None:
    stored = hpav1.to_stored(v1_hpa(targetCPUUtilizationPercentage=50))
    assert stored["apiVersion"] == "autoscaling/v2"
    assert stored["spec"]["metrics"] == [cpu(50)]
    assert hpav1.to_stored(v1_hpa())["spec"]["metrics"] == [cpu(80)]
    served = hpav1.from_stored(stored)
    assert served["spec"] == {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5,
                              "targetCPUUtilizationPercentage": 50}
    assert served["status"] == {"currentReplicas": 0, "desiredReplicas": 0}


def test_what_v1_cannot_say_travels_in_upstreams_annotations_and_comes_back() -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 10}}
    stored = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
              "metadata": {"name": "web", "annotations": {"team": "a"}},
              "spec": {"scaleTargetRef": REF, "maxReplicas": 5,
                       "metrics": [MEMORY, cpu(60)], "behavior": behavior},
              "status": {"currentReplicas": 2, "desiredReplicas": 3,
                         "currentMetrics": [{"type": "Resource", "resource": {
                             "name": "cpu", "current": {"averageUtilization": 90,
                                                        "averageValue": "90m"}}}],
                         "conditions": [{"type": "AbleToScale", "status": "True"}]}}
    served = hpav1.from_stored(stored)
    annotations = served["metadata"]["annotations"]
    assert json.loads(annotations[hpav1.METRICS]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}]
    assert json.loads(annotations[hpav1.CURRENT_METRICS]) == [
        {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 90,
                                          "currentAverageValue": "90m"}}]
    assert json.loads(annotations[hpav1.CONDITIONS]) == stored["status"]["conditions"]
    assert json.loads(annotations[hpav1.BEHAVIOR]) == behavior
    assert served["spec"]["targetCPUUtilizationPercentage"] == 60
    assert served["status"]["currentCPUUtilizationPercentage"] == 90
    assert stored["metadata"]["annotations"] == {"team": "a"}  # never the stored object's
    back = hpav1.to_stored(served)
    assert back == stored


def test_a_stale_annotation_on_the_stored_object_never_speaks_for_its_fields() -> None:
    stored = hpav1.to_stored(v1_hpa(targetCPUUtilizationPercentage=50))
    stored["metadata"]["annotations"] = {hpav1.METRICS: "[]", hpav1.CONDITIONS: "[{}]"}
    assert "annotations" not in hpav1.from_stored(stored)["metadata"]


def test_other_metric_types_convert_both_ways() -> None:
    pods = {"type": "Pods", "pods": {"metric": {"name": "qps"},
                                     "target": {"type": "AverageValue", "averageValue": "1"}}}
    external = {"type": "External", "external": {"metric": {"name": "q"},
                                                 "target": {"type": "Value", "value": "3"}}}
    stored = hpav1.to_stored(v1_hpa())
    stored["spec"]["metrics"] = [pods, external]
    served = hpav1.from_stored(stored)
    assert "targetCPUUtilizationPercentage" not in served["spec"]
    assert json.loads(served["metadata"]["annotations"][hpav1.METRICS]) == [
        {"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "1"}},
        {"type": "External", "external": {"metricName": "q", "targetValue": "3"}}]
    assert hpav1.to_stored(served)["spec"]["metrics"] == [pods, external]


def test_unknown_fields_and_broken_annotations_are_named() -> None:
    assert hpav1.unknown_fields(v1_hpa(behavior={})) == ['unknown field "spec.behavior"']
    broken = v1_hpa()
    broken["metadata"]["annotations"] = {hpav1.METRICS: "[{"}
    with pytest.raises(hpav1.ConversionError):
        hpav1.to_stored(broken)


# -- discovery and the API ----------------------------------------------------------------------

def test_discovery_lists_v1_beside_v2_with_v2_preferred() -> None:
    group = resources.api_group("autoscaling")
    assert group is not None
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    listed = resources.resource_list("autoscaling/v1")
    assert listed is not None
    assert {r["name"] for r in listed["resources"]} == {
        "horizontalpodautoscalers", "horizontalpodautoscalers/status"}
    target = resources.find("autoscaling", "v1", "horizontalpodautoscalers")
    assert target is not None and target.kind == "HorizontalPodAutoscaler"


def test_v1_create_get_list_update_patch_delete_share_the_stored_object(
        store: Store, tmp_path: Path) -> None:
    async def scenario(call: Call) -> None:
        status, created, _ = await call("POST", V1, v1_hpa(targetCPUUtilizationPercentage=50))
        assert status == 201, created
        assert created["apiVersion"] == "autoscaling/v1"
        assert created["spec"]["targetCPUUtilizationPercentage"] == 50
        stored = store.get("HorizontalPodAutoscaler", "default", "web")
        assert stored is not None and stored["spec"]["metrics"] == [cpu(50)]
        _, as_v2, _ = await call("GET", f"{V2}/web")
        assert as_v2["apiVersion"] == "autoscaling/v2" and as_v2["spec"]["metrics"] == [cpu(50)]
        _, listed, _ = await call("GET", V1)
        assert listed["kind"] == "HorizontalPodAutoscalerList"
        assert [i["spec"]["targetCPUUtilizationPercentage"] for i in listed["items"]] == [50]
        # a v2-only metric survives a v1 client's read-modify-write
        as_v2["spec"]["metrics"] = [MEMORY, cpu(50)]
        assert (await call("PUT", f"{V2}/web", as_v2))[0] == 200
        _, got, _ = await call("GET", f"{V1}/web")
        got["spec"]["maxReplicas"] = 7
        status, updated, _ = await call("PUT", f"{V1}/web", got)
        assert status == 200, updated
        stored = store.get("HorizontalPodAutoscaler", "default", "web")
        assert stored is not None
        assert stored["spec"]["maxReplicas"] == 7
        assert stored["spec"]["metrics"] == [MEMORY, cpu(50)]
        assert hpav1.METRICS not in (stored["metadata"].get("annotations") or {})
        for patch_type in (MERGE, STRATEGIC):
            status, patched, _ = await call(
                "PATCH", f"{V1}/web", {"spec": {"targetCPUUtilizationPercentage": 70}},
                patch_type)
            assert status == 200, patched
            assert patched["spec"]["targetCPUUtilizationPercentage"] == 70
        stored = store.get("HorizontalPodAutoscaler", "default", "web")
        assert stored is not None and stored["spec"]["metrics"] == [MEMORY, cpu(70)]
        _, status_view, _ = await call("GET", f"{V1}/web/status")
        assert status_view["apiVersion"] == "autoscaling/v1"
        assert (await call("DELETE", f"{V1}/web"))[0] == 200
        assert store.get("HorizontalPodAutoscaler", "default", "web") is None

    serve(store, tmp_path, scenario)


def test_v1_writes_are_refused_as_upstream_refuses_them(store: Store, tmp_path: Path) -> None:
    async def scenario(call: Call) -> None:
        status, body, _ = await call("POST", f"{V1}?fieldValidation=Strict",
                                     v1_hpa(behavior={}))
        assert status == 400
        assert body["message"] == ('HorizontalPodAutoscaler in version "v1" cannot be handled '
                                   'as a HorizontalPodAutoscaler: strict decoding error: '
                                   'unknown field "spec.behavior"')
        # unset, fieldValidation is Warn: the field dropped with a warning
        status, body, headers = await call("POST", V1, v1_hpa("warned", behavior={}))
        assert status == 201, body
        assert 'unknown field \\"spec.behavior\\"' in headers["Warning"]
        assert (await call("DELETE", f"{V1}/warned"))[0] == 200
        status, body, _ = await call("POST", V1, v1_hpa(targetCPUUtilizationPercentage=0))
        assert status == 422, body
        assert "spec.metrics[0].resource.target.averageUtilization" in body["message"]
        status, body, _ = await call("POST", V1, {**v1_hpa(), "apiVersion": "autoscaling/v2"})
        assert status == 400
        assert "does not match the expected API version (autoscaling/v1)" in body["message"]
        broken = v1_hpa()
        broken["metadata"]["annotations"] = {hpav1.CONDITIONS: "{"}
        assert (await call("POST", V1, broken))[0] == 400
        assert store.list("HorizontalPodAutoscaler") == []

    serve(store, tmp_path, scenario)


# -- podctl create|apply -f ---------------------------------------------------------------------

V1_MANIFEST = """
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  maxReplicas: 4
"""


def test_a_v1_manifest_is_checked_and_stored_as_v2() -> None:
    parsed = parse_text(V1_MANIFEST, "hpa.yaml")
    checked = check_document(parsed.documents[0])
    assert checked.problems == [], [str(p) for p in checked.problems]
    assert checked.obj is not None
    assert checked.obj["apiVersion"] == "autoscaling/v2"
    assert checked.obj["spec"]["minReplicas"] == 1
    assert checked.obj["spec"]["metrics"] == [cpu(80)]
    bad = parse_text(V1_MANIFEST + "  behavior: {}\n", "hpa.yaml")
    refused = check_document(bad.documents[0])
    assert [p.message for p in refused.problems] == [
        'HorizontalPodAutoscaler in version "v1" cannot be handled as a '
        'HorizontalPodAutoscaler: strict decoding error: unknown field "spec.behavior"']


def test_the_openapi_document_of_v1_names_v1s_schema() -> None:
    """kubectl explain --api-version=autoscaling/v1 and apply's patch metadata read it."""
    from podctl.apiserver import openapi

    doc = json.loads(openapi.group_version_document("autoscaling/v1"))
    item = doc["paths"]["/apis/autoscaling/v1/namespaces/{namespace}/horizontalpodautoscalers/"
                        "{name}"]["get"]
    ref = item["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"
    spec = doc["components"]["schemas"]["io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec"]
    assert "targetCPUUtilizationPercentage" in spec["properties"]


def test_a_v1_status_write_lands_in_the_stored_status(store: Store, tmp_path: Path) -> None:
    async def scenario(call: Call) -> None:
        assert (await call("POST", V1, v1_hpa(targetCPUUtilizationPercentage=50)))[0] == 201
        _, got, _ = await call("GET", f"{V1}/web/status")
        got["status"] = {"currentReplicas": 2, "desiredReplicas": 3,
                         "currentCPUUtilizationPercentage": 75}
        conditions = [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"}]
        got["metadata"].setdefault("annotations", {})[hpav1.CONDITIONS] = json.dumps(conditions)
        status, answered, _ = await call("PUT", f"{V1}/web/status", got)
        assert status == 200, answered
        assert answered["status"]["currentCPUUtilizationPercentage"] == 75
        stored = store.get("HorizontalPodAutoscaler", "default", "web")
        assert stored is not None
        assert stored["status"]["desiredReplicas"] == 3
        assert stored["status"]["conditions"] == conditions
        assert stored["status"]["currentMetrics"] == [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": 75}}}]

    serve(store, tmp_path, scenario)
