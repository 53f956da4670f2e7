"""gRPC probes (grpc.health.v1 Health/Check) dialled from the node, on the real engine."""

from __future__ import annotations

import docker
import pytest

from .conftest import Podctl
from .test_lifecycle_hooks import Start

GRPC_HEALTH_IMAGE = "podctl/grpc-health:1"

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: health}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: api
    image: podctl/grpc-health:1
    command: [sh, -c, "echo SERVING > /tmp/health.api; exec grpchealth 9000"]
    ports: [{containerPort: 9000}]
    readinessProbe:
      grpc: {port: 9000, service: api}
      periodSeconds: 1
      timeoutSeconds: 5
      failureThreshold: 1
"""


def _ready(podctl: Podctl) -> str:
    return podctl("get", "pod", "health").splitlines()[1].split()[1]


def test_a_grpc_probe_marks_the_pod_unready_when_not_serving(
        podctl: Podctl, controller: Start, docker_client: docker.DockerClient) -> None:
    try:
        docker_client.images.get(GRPC_HEALTH_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {GRPC_HEALTH_IMAGE} is missing: run `make images`")
    controller()
    podctl.apply_yaml(POD)
    podctl.wait_for(lambda: _ready(podctl) == "1/1", message="Ready through the gRPC probe")
    podctl("exec", "health", "--", "sh", "-c", "echo NOT_SERVING > /tmp/health.api")
    podctl.wait_for(lambda: _ready(podctl) == "0/1", message="unready on NOT_SERVING")
    described = podctl("describe", "pod", "health")
    assert 'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")' \
        in described
    assert "grpc <pod>:9000 api delay=0s timeout=5s period=1s" in described
    conditions = {c["type"]: c["status"]
                  for c in podctl.pod_json("health")["status"]["conditions"]}
    assert conditions["Ready"] == "False" and conditions["ContainersReady"] == "False"
    podctl("exec", "health", "--", "sh", "-c", "echo SERVING > /tmp/health.api")
    podctl.wait_for(lambda: _ready(podctl) == "1/1", message="Ready again")
