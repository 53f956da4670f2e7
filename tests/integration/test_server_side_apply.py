"""Server-side apply with the real kubectl: managedFields per manager, conflicts refused
with upstream's message (kubectl adds its advice), `--force-conflicts` taking the fields
over, fields a manager stops applying removed, and `kubectl diff --server-side`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import ApiController

pytestmark = pytest.mark.integration


@pytest.fixture
def api(podctl: Podctl) -> Iterator[ApiController]:
    server = ApiController(podctl)
    yield server
    server.stop()


def deployment(name: str, replicas: int, env: bool = True, image: str = "busybox") -> str:
    container: dict[str, Any] = {"name": "app", "image": image, "command": ["sleep", "1d"]}
    if env:
        container["env"] = [{"name": "MODE", "value": "on"}]
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [container]}}}})


def managers(kubectl: ApiController, name: str) -> dict[str, dict[str, Any]]:
    obj = json.loads(kubectl("get", "deployment", name, "-o", "json",
                             "--show-managed-fields"))
    return {e["manager"]: e for e in obj["metadata"]["managedFields"]}


def test_two_managers_conflict_and_force_conflicts_wins(podctl: Podctl,
                                                        api: ApiController) -> None:
    kubectl = api
    name = f"ssa-{uuid.uuid4().hex[:6]}"
    # replicas 0: nothing to start, the test is about the API's writes
    out = kubectl("apply", "--server-side", "-f", "-", input=deployment(name, 0))
    assert out.strip() == f"deployment.apps/{name} serverside-applied"
    owned = managers(kubectl, name)["kubectl"]
    assert owned["operation"] == "Apply" and owned["apiVersion"] == "apps/v1"
    containers = owned["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert set(containers['k:{"name":"app"}']) == {".", "f:command", "f:env", "f:image",
                                                    "f:name"}

    # another manager changing the same field is refused, naming the owner and field
    other = deployment(name, 0, env=False, image="busybox:other")
    err = kubectl.fails("apply", "--server-side", "--field-manager=flux", "-f", "-",
                        input=other)
    assert ('error: Apply failed with 1 conflict: conflict with "kubectl": '
            '.spec.template.spec.containers[name="app"].image') in err
    assert "--force-conflicts" in err
    assert json.loads(kubectl("get", "deployment", name, "-o", "json"))["spec"]["template"][
        "spec"]["containers"][0]["image"] == "busybox"

    # forced, the other manager wins the field and takes it from the first
    kubectl("apply", "--server-side", "--field-manager=flux", "--force-conflicts", "-f", "-",
            input=other)
    live = json.loads(kubectl("get", "deployment", name, "-o", "json"))
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:other"
    owners = managers(kubectl, name)
    first = owners["kubectl"]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert "f:image" not in first['k:{"name":"app"}']
    assert "f:image" in owners["flux"]["fieldsV1"]["f:spec"]["f:template"]["f:spec"][
        "f:containers"]['k:{"name":"app"}']

    # an update by another door is tracked too, and then conflicts with the applier
    kubectl("scale", "deployment", name, "--replicas=0")
    kubectl("label", "deployment", name, "team=a")
    assert managers(kubectl, name)["kubectl-label"]["operation"] == "Update"

    # a field the first manager alone applied goes when it stops applying it
    kubectl("apply", "--server-side", "-f", "-",
            input=deployment(name, 0, env=False, image="busybox:other"))
    live = json.loads(kubectl("get", "deployment", name, "-o", "json"))
    assert "env" not in live["spec"]["template"]["spec"]["containers"][0]
    assert live["metadata"]["labels"]["team"] == "a"  # kubectl-label's stays

    # a dry run shows the change and writes nothing
    before = live["metadata"]["resourceVersion"]
    diff = kubectl.run("diff", "--server-side", "-f", "-",
                       input=deployment(name, 0, env=False, image="busybox:other")
                       .replace("replicas: 0", "replicas: 0\n  minReadySeconds: 5"))
    assert diff.code == 1, diff
    assert "+  minReadySeconds: 5" in diff.out
    assert json.loads(kubectl("get", "deployment", name, "-o", "json"))["metadata"][
        "resourceVersion"] == before
    kubectl("delete", "deployment", name)


def test_apply_options_and_update_entries_as_upstream(podctl: Podctl,
                                                      api: ApiController) -> None:
    """An apply names its manager, `force` is an apply's alone (upstream's words); every
    other write's manager gets an Update entry."""
    from tests.integration.test_api_serving import Client

    kubectl, client = api, Client(api, podctl)
    name = f"ssa-{uuid.uuid4().hex[:6]}"
    kubectl("create", "configmap", name, "--from-literal=a=1")
    path = f"/api/v1/namespaces/default/configmaps/{name}"
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                       "data": {"a": "2"}}).encode()
    apply = {"Content-Type": "application/apply-patch+yaml"}
    nameless = client.request("PATCH", path, body, headers=apply)
    assert nameless.status == 422
    assert nameless.json()["message"] == ('PatchOptions.meta.k8s.io "" is invalid: '
                                          "fieldManager: Required value: is required for "
                                          "apply patch")
    forced = client.request("PATCH", path + "?force=true", b'{"data":{"a":"3"}}',
                            headers={"Content-Type": "application/merge-patch+json"})
    assert forced.status == 422
    assert "force: Forbidden: may not be specified for non-apply patch" in \
        forced.json()["message"]
    conflict = client.request("PATCH", path + "?fieldManager=tool", body, headers=apply)
    assert conflict.status == 409, conflict.body
    status = conflict.json()
    assert status["reason"] == "Conflict"
    assert status["message"] == ('Apply failed with 1 conflict: conflict with '
                                 '"kubectl-create" using v1: .data.a')
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict", "message":
                                            'conflict with "kubectl-create" using v1',
                                            "field": ".data.a"}]
    absent = client.request("PATCH", path + "-new?fieldManager=tool",
                            body.replace(name.encode(), f"{name}-new".encode()), headers=apply)
    assert absent.status == 201, absent.body  # an apply creates what is not there
    kubectl("patch", "configmap", name, "--type=merge", "-p", '{"data":{"b":"1"}}',
            "--field-manager=x")
    owners = json.loads(kubectl("get", "configmap", name, "-o", "json",
                                "--show-managed-fields"))["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"]) for e in owners] == [
        ("kubectl-create", "Update"), ("x", "Update")]
    assert owners[1]["fieldsV1"] == {"f:data": {"f:b": {}}}
    kubectl("delete", "configmap", name, f"{name}-new")


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %(plural)s.ssa.example.com}
spec:
  group: ssa.example.com
  scope: Namespaced
  names: {plural: %(plural)s, singular: %(singular)s, kind: %(kind)s}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  properties:
                    name: {type: string}
                    port: {type: integer}
"""


def test_a_custom_resource_merges_by_its_schemas_list_keys(api: ApiController) -> None:
    kubectl = api
    tag = uuid.uuid4().hex[:6]
    kind, plural = f"Ssa{tag}", f"ssa{tag}s"
    kubectl("apply", "-f", "-", input=CRD % {"plural": plural, "singular": f"ssa{tag}",
                                              "kind": kind})

    def cr(**ports: int) -> str:
        return json.dumps({"apiVersion": "ssa.example.com/v1", "kind": kind,
                           "metadata": {"name": "one"},
                           "spec": {"ports": [{"name": n, "port": p}
                                              for n, p in ports.items()]}})

    for _ in range(50):  # served once Established
        if kubectl.run("apply", "--server-side", "-f", "-", input=cr(http=80)).code == 0:
            break
        time.sleep(0.1)
    kubectl("apply", "--server-side", "--field-manager=other", "-f", "-", input=cr(metrics=9))
    live = json.loads(kubectl("get", plural, "one", "-o", "json"))
    assert live["spec"]["ports"] == [{"name": "http", "port": 80},
                                     {"name": "metrics", "port": 9}]
    err = kubectl.fails("apply", "--server-side", "--field-manager=other", "-f", "-",
                        input=cr(http=81))
    assert 'conflict with "kubectl": .spec.ports[name="http"].port' in err
    kubectl("delete", plural, "one")
    kubectl("delete", "crd", f"{plural}.ssa.example.com", "--wait=false")
