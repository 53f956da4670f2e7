"""x-kubernetes-validations through the real kubectl: a CRD's CEL rules refuse what they
forbid with upstream's lines, transition rules compare with the stored object, and a CRD
whose rule does not compile is refused."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import ApiController
from tests.integration.test_api_kubectl import api as api  # the fixture, re-exported

pytestmark = pytest.mark.integration

# The upstream docs' CronTab, with the rules of their "Validation rules" examples.
CRONTAB_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
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
            x-kubernetes-validations:
            - rule: "self.minReplicas <= self.replicas && self.replicas <= self.maxReplicas"
              message: "replicas should be in the range minReplicas..maxReplicas."
            - rule: "self.replicas >= oldSelf.replicas"
              messageExpression: "'replicas may not shrink below ' + string(oldSelf.replicas)"
              reason: FieldValueForbidden
              fieldPath: .replicas
            properties:
              cronSpec:
                type: string
                x-kubernetes-validations:
                - rule: "self == oldSelf"
                  message: Value is immutable
              image: {type: string}
              replicas: {type: integer}
              minReplicas: {type: integer}
              maxReplicas: {type: integer}
"""


def crontab(replicas: int, cron: str = "* * * * */5") -> str:
    return (f"apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n"
            f"  name: my-new-cron-object\nspec:\n  cronSpec: \"{cron}\"\n  image: img\n"
            f"  replicas: {replicas}\n  minReplicas: 1\n  maxReplicas: 5\n")


def test_crd_cel_rules(podctl: Podctl, api: ApiController) -> None:
    api("apply", "-f", "-", input=CRONTAB_CRD)
    api("wait", "--for=condition=Established", "crd/crontabs.stable.example.com",
        "--timeout=30s")
    assert api.fails("create", "-f", "-", input=crontab(replicas=9)) == (
        'The CronTab "my-new-cron-object" is invalid: spec: Invalid value: "object": '
        "replicas should be in the range minReplicas..maxReplicas.\n")
    assert api("create", "-f", "-", input=crontab(replicas=3)) == \
        "crontab.stable.example.com/my-new-cron-object created\n"

    # Transition rules: the stored object is oldSelf.
    refused = api.fails("apply", "-f", "-", input=crontab(replicas=2, cron="0 * * * *"))
    assert 'The CronTab "my-new-cron-object" is invalid: ' in refused
    assert "spec.replicas: Forbidden: replicas may not shrink below 3" in refused
    assert 'spec.cronSpec: Invalid value: "string": Value is immutable' in refused
    assert api("patch", "ct", "my-new-cron-object", "--type=merge",
               "-p", '{"spec":{"replicas":4}}') == \
        "crontab.stable.example.com/my-new-cron-object patched\n"
    stored = json.loads(api("get", "ct", "my-new-cron-object", "-o", "json"))
    assert stored["spec"]["replicas"] == 4

    # A rule that does not compile keeps its CRD out.
    bad = CRONTAB_CRD.replace("crontabs.stable.example.com", "badtabs.stable.example.com") \
        .replace("{plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}",
                 "{plural: badtabs, singular: badtab, kind: BadTab}") \
        .replace('rule: "self == oldSelf"', 'rule: "self == "')
    refused = api.fails("create", "-f", "-", input=bad)
    assert 'The CustomResourceDefinition "badtabs.stable.example.com" is invalid: ' \
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[cronSpec]." \
        'x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:' \
        '"self == ", Message:"Value is immutable", MessageExpression:"", ' in refused, refused
    assert "compilation failed: ERROR: <input>:1:" in refused
    # A field the schema does not have, as cel-go's type check finds it.
    typo = CRONTAB_CRD.replace("self.replicas >= oldSelf.replicas",
                               "self.replica >= oldSelf.replicas")
    refused = api.fails("apply", "-f", "-", input=typo)
    assert "x-kubernetes-validations[1].rule: Invalid value: apiextensions.ValidationRule{" \
        in refused, refused
    assert "compilation failed: ERROR: <input>:1:5: undefined field 'replica'\n" \
        " | self.replica >= oldSelf.replicas\n | ....^" in refused
