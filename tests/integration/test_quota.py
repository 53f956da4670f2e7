"""ResourceQuota and LimitRange on a real engine, through podctl and the real kubectl: the
third pod of a two-pod quota refused in upstream's words, `used` following deletions, a
LimitRange's defaults on the pod and in the container's cgroup settings, its bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest

from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import ApiController, poll
from tests.integration.test_api_kubectl import api as api  # the fixture, re-exported

pytestmark = pytest.mark.integration

REFUSED = ('pods "{}" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, '
           'limited: pods=2')


def pod_yaml(name: str, resources: str = "") -> str:
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: podctl/kubia:1
{resources}"""


def used_pods(podctl: Podctl) -> str:
    return podctl("get", "quota", "q", "-o", "jsonpath={.status.used.pods}")


def test_a_two_pod_quota_refuses_the_third_and_used_follows_deletions(
        podctl: Podctl, controller: Any) -> None:
    controller()
    assert podctl("create", "quota", "q", "--hard=pods=2,requests.cpu=1") == \
        "resourcequota/q created\n"
    cpu = "    resources: {requests: {cpu: 100m}}\n"
    podctl.apply_yaml(pod_yaml("a", cpu))
    podctl.apply_yaml(pod_yaml("b", cpu))
    path = podctl.tmp / "c.yaml"
    path.write_text(pod_yaml("c", cpu))
    refused = podctl.run("create", "-f", str(path))
    assert refused.code != 0
    assert refused.err == (f'Error from server (Forbidden): error when creating "{path}": '
                           f'{REFUSED.format("c")}\n')
    podctl.wait_for(lambda: used_pods(podctl) == "2", message="used pods=2")
    described = podctl("describe", "quota", "q").splitlines()
    assert described[2:] == ["Resource      Used  Hard", "--------      ----  ----",
                             "pods          2     2", "requests.cpu  200m  1"]
    row = podctl("get", "quota").splitlines()[1].split(None, 2)
    assert row[0] == "q" and row[2].strip() == "pods: 2/2, requests.cpu: 200m/1"
    podctl("delete", "pod", "a")
    podctl.wait_for(lambda: used_pods(podctl) == "1", message="used pods=1")
    assert "  pods          1     2" in podctl("describe", "namespace", "default")
    podctl("create", "-f", str(path))


def test_kubectl_hears_the_quota_refusal(podctl: Podctl, api: ApiController) -> None:
    kubectl = api
    assert kubectl("create", "quota", "q", "--hard=pods=2") == "resourcequota/q created\n"
    for name in ("a", "b"):
        kubectl("run", name, "--image=podctl/kubia:1")
    assert kubectl.fails("run", "c", "--image=podctl/kubia:1") == \
        f"Error from server (Forbidden): {REFUSED.format('c')}\n"
    poll(lambda: "pods: 2/2" in kubectl("get", "quota", "q"), message="quota status")
    kubectl("delete", "pod", "a", "--wait=true")
    poll(lambda: "pods: 1/2" in kubectl("get", "quota", "q"), message="used freed")
    assert kubectl("describe", "quota", "q").splitlines()[2:] == [
        "Resource    Used  Hard", "--------    ----  ----", "pods        1     2"]


LIMITS = """apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 128Mi}
    defaultRequest: {cpu: 250m, memory: 64Mi}
    max: {cpu: "1"}
"""


def test_limit_range_defaults_reach_docker_and_its_bounds_refuse(
        podctl: Podctl, docker_client: docker.DockerClient) -> None:
    podctl.apply_yaml(LIMITS)
    podctl.apply_yaml(pod_yaml("plain"))
    pod = podctl.pod_json("plain")
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "128Mi"},
        "requests": {"cpu": "250m", "memory": "64Mi"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit "
        "for container app")
    podctl.wait_for(lambda: bool(podctl.pod_json("plain")["status"].get("containerStatuses")),
                    message="the container")
    status = podctl.pod_json("plain")["status"]["containerStatuses"][0]
    host = docker_client.containers.get(
        status["containerID"].removeprefix("docker://")).attrs["HostConfig"]
    assert (host["CpuQuota"], host["CpuPeriod"], host["CpuShares"], host["Memory"],
            host["NanoCpus"]) == (50_000, 100_000, 256, 128 * 2**20, 0)
    path = podctl.tmp / "big.yaml"
    path.write_text(pod_yaml("big", "    resources: {limits: {cpu: '2'}}\n"))
    refused = podctl.run("create", "-f", str(path))
    assert refused.err == (f'Error from server (Forbidden): error when creating "{path}": '
                           'pods "big" is forbidden: maximum cpu usage per Container is 1, '
                           'but limit is 2\n')
    assert podctl("get", "limits").splitlines()[0].split() == ["NAME", "CREATED", "AT"]


def test_a_deployment_past_its_quota_gets_failed_create_events(
        podctl: Podctl, controller: Any) -> None:
    controller()
    podctl("create", "quota", "q", "--hard=pods=2")
    podctl("create", "deployment", "web", "--image=podctl/kubia:1", "--replicas=3")

    def refused() -> bool:
        events = podctl("get", "events")
        return "is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, " \
               "limited: pods=2" in events

    podctl.wait_for(refused, timeout=60, message="a FailedCreate event")
    podctl.wait_for(lambda: used_pods(podctl) == "2", message="used pods=2")
    assert len(podctl("get", "pods", "-o", "name").split()) == 2


def test_kubectl_applies_quotas_and_limit_ranges(podctl: Podctl, api: ApiController) -> None:
    kubectl = api
    manifest = str(Path(__file__).resolve().parents[1] / "data" / "valid" /
                   "quota-and-limits.yaml")
    assert kubectl("apply", "-f", manifest).splitlines() == [
        "resourcequota/compute created", "resourcequota/best-effort created",
        "limitrange/limits created"]
    assert kubectl("apply", "-f", manifest).splitlines() == [
        "resourcequota/compute unchanged", "resourcequota/best-effort unchanged",
        "limitrange/limits unchanged"]
    kubectl("patch", "quota", "compute", "-p", '{"spec":{"hard":{"pods":"1"}}}')
    poll(lambda: "pods: 0/1" in kubectl("get", "quota", "compute"), message="new hard")
    # kubectl walks each item's resources in Go's map order: any order.
    assert "Container              cpu       100m  1      250m             500m           4" \
        in kubectl("describe", "limits", "limits").splitlines()
