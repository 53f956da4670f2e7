"""EndpointSlices against the real engine: the real kubectl reads them for `describe svc`
and lists them; podctl's own get/describe print the same; they follow readiness and
scaling, and go with their Service."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Podctl
from .test_api_kubectl import ApiController, poll
from .test_controller import Start
from .test_services import READY_RC

pytestmark = pytest.mark.integration

DEPRECATED = ("Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 "
              "EndpointSlice\n")
SERVICE_LABEL = "kubernetes.io/service-name"
NAMED_SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: kubia
  labels: {tier: web}
spec:
  selector: {app: kubia}
  ports:
  - {name: web, port: 80, targetPort: http}
"""


@pytest.fixture
def kubectl(podctl: Podctl) -> Iterator[ApiController]:
    """The real kubectl against `run-controller --api` for this test's home."""
    server = ApiController(podctl)
    yield server
    server.stop()


def slices(run: Any, service: str) -> list[dict[str, Any]]:
    """The Service's slices as `get endpointslices -l ... -o json` lists them."""
    items: list[dict[str, Any]] = json.loads(run(
        "get", "endpointslices", "-l", f"{SERVICE_LABEL}={service}", "-o", "json"))["items"]
    return items


def ready_ips(found: list[dict[str, Any]]) -> list[str]:
    return sorted(e["addresses"][0] for s in found for e in s.get("endpoints") or []
                  if e["conditions"]["ready"])


def endpoints_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Endpoints:")]


def test_kubectl_reads_the_slices_of_a_deployment_service(podctl: Podctl,
                                                          kubectl: ApiController) -> None:
    kubectl("create", "deployment", "web", "--image=podctl/kubia:1", "--replicas=2",
            "--port=8080")
    assert kubectl("expose", "deployment", "web", "--port=80", "--target-port=8080") == \
        "service/web exposed\n"
    found = poll(lambda: (s := slices(kubectl, "web")) and len(ready_ips(s)) == 2 and s,
                 90, "two ready endpoints in the slice")
    [eps] = found
    name = eps["metadata"]["name"]
    assert re.fullmatch(r"web-[a-z0-9]{5}", name), name
    pods = json.loads(podctl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    pod_ips = sorted(p["status"]["podIP"] for p in pods)
    assert ready_ips(found) == pod_ips

    table = kubectl("get", "endpointslices", "-l", f"{SERVICE_LABEL}=web").splitlines()
    assert table[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert table[1].split()[:4] == [name, "IPv4", "8080", ",".join(pod_ips)]
    described = kubectl("describe", "svc", "web")
    assert endpoints_lines(described) == [
        "Endpoints:                " + ",".join(f"{ip}:8080" for ip in pod_ips)]
    assert podctl("describe", "svc", "web") == described
    # The Endpoints stay, with the API server's deprecation warning on every request.
    listed = kubectl.run("get", "ep", "web")
    assert listed.code == 0 and listed.err == DEPRECATED
    assert listed.out.splitlines()[1].split()[1] == ",".join(f"{ip}:8080" for ip in pod_ips)
    assert kubectl.run("get", "endpointslices").err == ""

    # Clients may delete a slice (the controller makes it again) but never write one.
    assert kubectl("delete", "endpointslice", name) == \
        f'endpointslice.discovery.k8s.io "{name}" deleted from default namespace\n'
    remade = poll(lambda: (s := slices(kubectl, "web")) and len(ready_ips(s)) == 2 and s,
                  60, "the slice made again")
    name = remade[0]["metadata"]["name"]
    mine = podctl.tmp / "slice.yaml"
    mine.write_text("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n"
                    "  name: mine\naddressType: IPv4\nendpoints:\n- addresses: [10.1.2.3]\n")
    assert kubectl.fails("create", "-f", str(mine)) == (
        f'Error from server (MethodNotAllowed): error when creating "{mine}": podctl\'s '
        "EndpointSlice controller keeps endpointslices itself; they cannot be written "
        "through the API\n")

    kubectl("scale", "deployment", "web", "--replicas=0")
    emptied = poll(lambda: (s := slices(kubectl, "web")) and not s[0].get("endpoints") and s,
                   90, "the slice to empty")
    assert [s["metadata"]["name"] for s in emptied] == [name]  # the same slice, updated
    assert emptied[0]["ports"] is None
    assert kubectl("get", "endpointslices", "-l", f"{SERVICE_LABEL}=web").splitlines()[1] \
        .split()[:4] == [name, "IPv4", "<unset>", "<unset>"]
    described = kubectl("describe", "svc", "web")
    assert [line.rstrip() for line in endpoints_lines(described)] == ["Endpoints:"]
    assert podctl("describe", "svc", "web") == described

    assert kubectl("delete", "svc", "web") == 'service "web" deleted from default namespace\n'
    assert slices(kubectl, "web") == []
    kubectl("delete", "deployment", "web")


def test_podctl_prints_slices_that_follow_readiness(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(READY_RC)
    podctl.apply_yaml(NAMED_SERVICE)
    found = poll(lambda: (s := slices(podctl, "kubia")) and len(ready_ips(s)) == 3 and s,
                 90, "three ready endpoints")
    [eps] = found
    name = eps["metadata"]["name"]
    assert eps["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert eps["metadata"]["labels"] == {
        "tier": "web", SERVICE_LABEL: "kubia",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    [owner] = eps["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Service", "kubia", True)

    # One pod stops being ready: it stays in the slice, not ready, and leaves describe svc.
    by_pod = {e["targetRef"]["name"]: e["addresses"][0] for e in eps["endpoints"]}
    first = sorted(by_pod)[0]
    podctl("exec", first, "--", "rm", "/tmp/ready")
    conditions = poll(lambda: {e["targetRef"]["name"]: e["conditions"]
                               for e in slices(podctl, "kubia")[0]["endpoints"]
                               if not e["conditions"]["ready"]},
                      60, "a not-ready endpoint")
    assert conditions == {first: {"ready": False, "serving": False, "terminating": False}}
    rest = sorted(ip for pod, ip in by_pod.items() if pod != first)
    assert endpoints_lines(podctl("describe", "svc", "kubia")) == [
        "Endpoints:                " + ",".join(f"{ip}:8080" for ip in rest)]

    table = podctl("get", "endpointslices", "-o", "wide").splitlines()
    assert table[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert table[1].split()[:4] == [
        name, "IPv4", "8080", ",".join(sorted(by_pod.values())[:3])]
    assert podctl("get", "endpointslice", name, "-o", "name") == \
        f"endpointslice.discovery.k8s.io/{name}\n"
    described = podctl("describe", "endpointslice", name)
    assert f"  - Addresses:  {by_pod[first]}\n    Conditions:\n      Ready:    false\n" \
        in described
    assert f"    TargetRef:  Pod/{first}\n" in described
    listed = podctl.run("get", "ep", "kubia")
    assert listed.code == 0 and listed.err == DEPRECATED

    assert podctl("delete", "svc", "kubia") == 'service "kubia" deleted\n'
    assert podctl("get", "endpointslices", "-o", "name") == ""
