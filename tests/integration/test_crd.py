"""CustomResourceDefinitions through the real kubectl and podctl: the CronTab of the
Kubernetes docs served once its definition is Established, its printer columns, schema
validation naming the field, defaults, pruning, scale, watch, garbage collection and the
definition's deletion taking its objects."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import KUBECTL, ApiController, poll

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
CRD = str(MANIFESTS / "crontab-crd.yaml")
CRONTAB = str(MANIFESTS / "crontab.yaml")


def crontab(name: str, spec: str) -> str:
    return (f"apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: {name}\n"
            f"spec:\n{spec}")


@pytest.fixture
def api(podctl: Podctl) -> Iterator[ApiController]:
    server = ApiController(podctl)
    yield server
    server.stop()


def defined(kubectl: ApiController) -> None:
    assert kubectl("apply", "-f", CRD) == \
        "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created\n"
    assert kubectl("wait", "--for=condition=Established", "--timeout=30s",
                   "crd/crontabs.stable.example.com") == \
        "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com " \
        "condition met\n"


def test_crontab_printer_columns_validation_defaults_and_pruning(podctl: Podctl,
                                                                  api: ApiController) -> None:
    kubectl = api
    defined(kubectl)
    resources = kubectl("api-resources", "--api-group=stable.example.com").splitlines()
    assert resources[1].split() == ["crontabs", "ct", "stable.example.com/v1", "true",
                                    "CronTab"]
    assert kubectl("apply", "-f", CRONTAB) == \
        "crontab.stable.example.com/my-new-cron-object created\n"
    # printer columns, the default replicas among them
    table = kubectl("get", "crontabs").splitlines()
    assert table[0].split() == ["NAME", "SPEC", "REPLICAS", "AGE"]
    assert table[1].split()[:7] == ["my-new-cron-object", "*", "*", "*", "*", "*/5", "1"]
    assert podctl("get", "ct").splitlines()[0].split() == ["NAME", "SPEC", "REPLICAS", "AGE"]
    # a schema violation, refused naming the field
    bad = crontab("bad-cron", '  cronSpec: "* * * *"\n  replicas: 15\n')
    err = kubectl.fails("create", "-f", "-", input=bad)
    assert err == (
        'The CronTab "bad-cron" is invalid: \n'
        "* spec.cronSpec: Invalid value: \"* * * *\": spec.cronSpec in body should match "
        "'^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'\n"
        "* spec.replicas: Invalid value: 15: spec.replicas in body should be less than or "
        "equal to 10\n")
    err = kubectl.fails("create", "-f", "-", input=crontab("typed", "  cronSpec: 5\n"))
    assert 'spec.cronSpec: Invalid value: "integer": spec.cronSpec in body must be of type ' \
        'string: "integer"' in err
    # unknown fields: refused by a strict request, pruned by one that does not validate
    extra = crontab("pruned", '  cronSpec: "* * * * *"\n  someRandomField: 42\n')
    err = kubectl.fails("create", "-f", "-", input=extra)
    assert 'strict decoding error: unknown field "spec.someRandomField"' in err
    kubectl("create", "--validate=false", "-f", "-", input=extra)
    stored = json.loads(kubectl("get", "ct", "pruned", "-o", "json"))
    assert stored["spec"] == {"cronSpec": "* * * * *", "replicas": 1}
    # the same through podctl's own door
    assert "spec.replicas: Invalid value: 15" in podctl.run("create", "-f", "-",
                                                              input=bad).err


def test_crontab_scale_status_watch_and_describe(podctl: Podctl, api: ApiController) -> None:
    kubectl = api
    defined(kubectl)
    watch = subprocess.Popen([KUBECTL, "get", "ct", "-w", "--no-headers",
                              "--request-timeout=60s"], env=kubectl.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        kubectl("apply", "-f", CRONTAB)
        assert kubectl("scale", "ct/my-new-cron-object", "--replicas=3") == \
            "crontab.stable.example.com/my-new-cron-object scaled\n"
        assert watch.stdout is not None
        seen = [watch.stdout.readline().split()[6] for _ in range(2)]
        assert seen == ["1", "3"]
    finally:
        watch.terminate()
        watch.wait()
    scale = json.loads(kubectl("get", "--raw", "/apis/stable.example.com/v1/namespaces/"
                               "default/crontabs/my-new-cron-object/scale"))
    assert scale["kind"] == "Scale" and scale["spec"] == {"replicas": 3}
    # the status subresource: a main write keeps the status, a status write only it
    kubectl("patch", "ct", "my-new-cron-object", "--subresource=status", "--type=merge",
            "-p", '{"status":{"replicas":2,"labelSelector":"app=cron"},"spec":{"image":"x"}}')
    obj = json.loads(kubectl("get", "ct", "my-new-cron-object", "-o", "json"))
    assert obj["status"] == {"replicas": 2, "labelSelector": "app=cron"}
    assert obj["spec"]["image"] == "my-awesome-cron-image" and obj["metadata"]["generation"] == 2
    assert kubectl("describe", "ct", "my-new-cron-object") == \
        podctl("describe", "ct", "my-new-cron-object")
    # the definition's schema, through /openapi/v3
    explained = kubectl("explain", "crontab.spec")
    assert explained.startswith("GROUP:      stable.example.com\nKIND:       CronTab\n"
                                "VERSION:    v1\n")
    assert "  cronSpec\t<string>" in explained and "  replicas\t<integer>" in explained
    assert podctl("explain", "crontab.spec") == explained


def test_dependents_and_objects_go_with_their_owner_and_definition(
        podctl: Podctl, api: ApiController) -> None:
    kubectl = api
    defined(kubectl)
    kubectl("apply", "-f", CRONTAB)
    uid = kubectl("get", "ct", "my-new-cron-object", "-o", "jsonpath={.metadata.uid}")
    child = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: child\n  ownerReferences:\n"
             "  - apiVersion: stable.example.com/v1\n    kind: CronTab\n"
             f"    name: my-new-cron-object\n    uid: {uid}\n")
    kubectl("create", "-f", "-", input=child)
    kubectl("delete", "ct", "my-new-cron-object")
    poll(lambda: kubectl.run("get", "cm", "child").code != 0, 30, "the child's collection")
    # a definition's deletion waits for its objects' finalizers, refusing new objects
    kubectl("apply", "-f", CRONTAB)
    kubectl("patch", "ct", "my-new-cron-object", "--type=merge", "-p",
            '{"metadata":{"finalizers":["example.com/hold"]}}')
    kubectl("delete", "crd", "crontabs.stable.example.com", "--wait=false")
    poll(lambda: "Terminating" in kubectl("get", "crd", "crontabs.stable.example.com", "-o",
                                          "jsonpath={.status.conditions[*].type}"),
         30, "the Terminating condition")
    err = kubectl.fails("create", "-f", "-", input=crontab("late", '  cronSpec: "* * * * *"\n'))
    assert "create not allowed while custom resource definition is terminating" in err
    kubectl("patch", "ct", "my-new-cron-object", "--type=merge", "-p",
            '{"metadata":{"finalizers":null}}')
    poll(lambda: kubectl.run("get", "crd", "crontabs.stable.example.com").code != 0, 30,
         "the definition's deletion")
    assert podctl.run("get", "ct").code != 0
