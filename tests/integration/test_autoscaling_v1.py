"""autoscaling/v1 HorizontalPodAutoscalers, as older manifests and charts write them: the same
stored objects as v2's, created and applied by podctl and by kubectl through the API, read in
either version, and run by the autoscaler (whose conditions a v1 reader finds in upstream's
annotation)."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import ApiController, poll
from tests.integration.test_autoscaling import APP
from tests.integration.test_metrics import RESOLUTION

pytestmark = pytest.mark.integration

V1_HPA = "horizontalpodautoscalers.v1.autoscaling"

# test_autoscaling's Deployment (its CPU limit does not matter here).
DEPLOYMENT = APP.split("---")[0]


def v1_hpa(name: str, target: int | None = 50, maximum: int = 3) -> str:
    cpu = f"\n  targetCPUUtilizationPercentage: {target}" if target is not None else ""
    return f"""
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {{name: {name}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  minReplicas: 1
  maxReplicas: {maximum}{cpu}
"""


def test_podctl_creates_and_applies_v1_manifests(podctl: Podctl) -> None:
    assert podctl("create", "-f", "-", input=v1_hpa("made", target=None)).strip() == \
        "horizontalpodautoscaler.autoscaling/made created"
    spec = json.loads(podctl("get", "hpa", "made", "-o", "json"))["spec"]
    assert spec["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80}}}]
    assert podctl("apply", "-f", "-", input=v1_hpa("applied")).strip() == \
        "horizontalpodautoscaler.autoscaling/applied created"
    podctl("apply", "-f", "-", input=v1_hpa("applied", target=70, maximum=4))
    spec = json.loads(podctl("get", "hpa", "applied", "-o", "json"))["spec"]
    assert spec["maxReplicas"] == 4
    assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    refused = podctl.run("create", "-f", "-", input=v1_hpa("bad") + "  behavior: {}\n")
    assert refused.code != 0
    assert 'strict decoding error: unknown field "spec.behavior"' in refused.err


def test_kubectl_serves_v1_beside_v2(podctl: Podctl) -> None:
    api = ApiController(podctl, RESOLUTION)
    try:
        versions = api("api-versions").split()
        assert "autoscaling/v1" in versions and "autoscaling/v2" in versions
        explained = api("explain", "hpa.spec", "--api-version=autoscaling/v1")
        assert "targetCPUUtilizationPercentage" in explained, explained
        api("apply", "-f", "-", input=DEPLOYMENT)
        assert api("apply", "-f", "-", input=v1_hpa("web")).strip() == \
            "horizontalpodautoscaler.autoscaling/web created"
        # an update of a v1 manifest: kubectl patches through v1
        assert api("apply", "-f", "-", input=v1_hpa("web", target=60)).strip() == \
            "horizontalpodautoscaler.autoscaling/web configured"
        # The full name: client-go's shortcut expander drops the version of a short one
        # (`hpa.v1.autoscaling` asks the preferred v2), against any API server.
        served = api("get", V1_HPA, "web", "-o", "yaml")
        assert served.startswith("apiVersion: autoscaling/v1\n"), served
        assert "  targetCPUUtilizationPercentage: 60\n" in served, served
        stored = json.loads(api("get", "hpa", "web", "-o", "json"))
        assert stored["apiVersion"] == "autoscaling/v2"
        assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
        # the autoscaler runs it: a v1 reader finds its conditions in the annotation
        conditions = poll(lambda: json.loads(api(
            "get", V1_HPA, "web", "-o", "json"))["metadata"].get(
            "annotations", {}).get("autoscaling.alpha.kubernetes.io/conditions"),
            timeout=60, message="the autoscaler's conditions")
        assert "AbleToScale" in {c["type"] for c in json.loads(conditions)}
        assert "web" in api("get", V1_HPA)
        assert api("delete", V1_HPA, "web").strip() == \
            'horizontalpodautoscaler.autoscaling "web" deleted from default namespace'
        assert api.run("get", "hpa", "web").code != 0
    finally:
        api.stop()
