"""The horizontal pod autoscaler on real pods: kubectl's HPA scales a busy Deployment up to
its max and, once idle, back down, with the metrics the controller scrapes (every 10 s here,
test_metrics' resolution; each scrape wakes the autoscalers); a controller killed
meanwhile is replaced and the next one carries on."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.integration.conftest import BUSYBOX_IMAGE, Podctl
from tests.integration.test_api_kubectl import KUBECTL, ApiController, poll
from tests.integration.test_metrics import RESOLUTION

pytestmark = pytest.mark.integration

APP = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: {BUSYBOX_IMAGE}
        command: ["sleep", "3600"]
        resources: {{requests: {{cpu: 100m}}, limits: {{cpu: 200m}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: web}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}
  behavior:
    scaleDown: {{stabilizationWindowSeconds: 5}}
"""
TARGETS = re.compile(r"^web\s+Deployment/web\s+cpu: (\d+)%/50%\s+1\s+3\s+(\d+)\s", re.M)


def _replicas(api: ApiController) -> int:
    return int(api("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}") or 0)


def test_an_hpa_scales_a_busy_deployment_up_and_back_down(podctl: Podctl) -> None:
    api = ApiController(podctl, RESOLUTION)
    load: subprocess.Popen[str] | None = None
    try:
        api("apply", "-f", "-", input=APP)
        poll(lambda: TARGETS.search(api("get", "hpa", "web")), timeout=90,
             message="the HPA's first utilization")
        pod = api("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
        # Busy until told otherwise: one core's loop, held to 200m by its limit (200%).
        load = subprocess.Popen(
            [KUBECTL, "exec", pod, "--", "sh", "-c", "while [ ! -f /tmp/idle ]; do :; done"],
            env=api.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        poll(lambda: _replicas(api) == 3, timeout=90, message="the scale up to 3")
        described = api("describe", "hpa", "web")
        assert "New size: 3; reason: cpu resource utilization (percentage of request) above " \
            "target" in described, described
        row = api("get", "hpa", "web")
        assert row.splitlines()[0].split() == \
            ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
        assert podctl("get", "hpa").splitlines()[0] == row.splitlines()[0]
        # A controller killed with the load on: the next one carries on from the store.
        api.proc.kill()
        api.proc.wait()
        api = ApiController(podctl, RESOLUTION)
        api("exec", pod, "--", "touch", "/tmp/idle")
        load.wait(timeout=30)
        poll(lambda: _replicas(api) == 1, timeout=120, message="the scale back down to 1")
        described = api("describe", "hpa", "web")
        assert "New size: 1; reason: All metrics below target" in described, described
        status = api("get", "hpa", "web", "-o",
                     "jsonpath={.status.conditions[?(@.type=='ScalingActive')].reason}")
        assert status == "ValidMetricFound"
    finally:
        if load is not None and load.poll() is None:
            load.kill()
        api.stop()


def test_podctl_autoscale_makes_kubectls_object_and_refuses_as_it_does(podctl: Podctl) -> None:
    podctl("apply", "-f", "-", input=APP.split("---")[0])
    assert podctl("autoscale", "deploy", "web", "--min=2", "--max=5", "--cpu-percent=60",
                  "--name=web-cpu").strip() == \
        "horizontalpodautoscaler.autoscaling/web-cpu autoscaled"
    spec = json.loads(podctl("get", "hpa", "web-cpu", "-o", "json"))["spec"]
    assert spec == {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                       "name": "web"},
                    "minReplicas": 2, "maxReplicas": 5,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 60}}}]}
    assert podctl.run("autoscale", "deploy", "web", "--max=5", "--name=web-cpu").err.strip() \
        == 'Error from server (AlreadyExists): horizontalpodautoscalers.autoscaling ' \
           '"web-cpu" already exists'
    assert podctl.run("autoscale", "deploy/nope", "--max=2").err.strip() == \
        'Error from server (NotFound): deployments.apps "nope" not found'
    assert podctl.run("autoscale", "deploy", "web").err.strip() == \
        'error: required flag(s) "max" not set'
    assert podctl.run("autoscale", "deploy", "web", "--min=3", "--max=2").err.strip() == \
        "error: --max=MAXPODS must be larger or equal to --min=MINPODS, max: 2, min: 3"
