"""An operator written with kopf, run on the host with the kubeconfig of `run-controller
--api`, as a user runs one against a cluster: its watches (the list, then the watch from its
resourceVersion, reconnecting when the server ends a watch), its JSON patches guarded by a
resourceVersion test, its finalizers, its merge patches of annotations, and the core v1
Events it posts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import ApiController, poll
from tests.integration.test_api_kubectl import api as api  # the fixture, re-exported

pytestmark = pytest.mark.integration

KOPF = shutil.which("kopf", path=str(Path(sys.executable).parent)) or "kopf"
CHILDMAKER = Path(__file__).resolve().parent / "operators" / "childmaker.py"
FINALIZER = "kopf.zalando.org/KopfFinalizerMarker"


class Operator:
    """`kopf run` of the childmaker on the host, with the API's kubeconfig."""

    def __init__(self, api: ApiController, *flags: str, **env: str) -> None:
        self.log = api.podctl.tmp / f"kopf-{uuid.uuid4().hex[:6]}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [KOPF, "run", *(flags or ("--standalone", "--all-namespaces")), "--verbose",
                 str(CHILDMAKER)],
                env={**api.env, **env}, stdout=out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def operator(api: ApiController) -> Iterator[Callable[..., Operator]]:
    started: list[Operator] = []

    def start(*flags: str, **env: str) -> Operator:
        process = Operator(api, *flags, **env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def configmap(api: ApiController, name: str) -> dict[str, Any] | None:
    result = api.run("get", "configmap", name, "-o", "json")
    return json.loads(result.out) if result.code == 0 else None


def parent_manifest(name: str, value: str) -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
            f"  labels: {{childmaker: \"on\"}}\ndata:\n  colour: {value}\n")


def test_kopf_reconciles_configmaps(podctl: Podctl, api: ApiController,
                                    operator: Callable[..., Operator]) -> None:
    # A short server-side watch timeout: kopf reconnects from its last resourceVersion
    # several times during the test, and must miss nothing in between.
    kopf = operator(CHILDMAKER_WATCH_TIMEOUT="2")
    api("create", "-f", "-", input=parent_manifest("shop", "blue"))
    child = poll(lambda: configmap(api, "shop-child"), 60, "the operator's child")
    parent = configmap(api, "shop")
    assert parent is not None
    assert child["data"] == {"colour": "blue"}
    assert child["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": "shop",
        "uid": parent["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]

    # Its finalizer (a JSON patch carrying a resourceVersion test) and its merge patch of
    # annotations (the child's name, kopf's record of what it handled).
    def annotated() -> dict[str, Any] | None:
        found = configmap(api, "shop")
        annotations = (found or {}).get("metadata", {}).get("annotations", {})
        return found if "childmaker.podctl.io/child" in annotations else None

    parent = poll(annotated, 30, "the operator's annotation")
    assert parent["metadata"]["finalizers"] == [FINALIZER]
    assert parent["metadata"]["annotations"]["childmaker.podctl.io/child"] == "shop-child"
    assert "kopf.zalando.org/last-handled-configuration" in parent["metadata"]["annotations"]

    # The Event it posted, as kubectl lists it.
    def posted() -> list[dict[str, Any]]:
        items = json.loads(api("get", "events", "-o", "json"))["items"]
        return [e for e in items if e.get("reason") == "ChildCreated"]

    event = poll(posted, 30, "the operator's event")[0]
    assert event["involvedObject"]["uid"] == parent["metadata"]["uid"]
    assert event["message"] == "created ConfigMap shop-child"
    assert event["metadata"]["name"].startswith("kopf-event-")
    assert event["reportingComponent"] == event["source"]["component"] == "childmaker"
    table = api("get", "events", "--field-selector", "reason=ChildCreated").splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert table[1].split()[1:] == ["Normal", "ChildCreated", "configmap/shop", "created",
                                    "ConfigMap", "shop-child"]
    # What the handler logged, kopf posts as an event of its own.
    def logged() -> list[dict[str, Any]]:
        items = json.loads(api("get", "events", "-o", "json"))["items"]
        return [e for e in items if e.get("reason") == "Logging"
                and e["message"] == "shop-child is in place"]

    assert poll(logged, 30, "kopf's Logging event")[0]["type"] == "Normal"
    described = [line.split() for line in api("describe", "configmap", "shop").splitlines()]
    assert ["Normal", "ChildCreated", "childmaker", "created", "ConfigMap", "shop-child"] in \
        [line[:2] + line[3:] for line in described]

    # An update reaches the child through a later watch (the first ones have timed out).
    api("patch", "configmap", "shop", "-p", '{"data":{"colour":"green"}}')
    poll(lambda: (configmap(api, "shop-child") or {}).get("data") == {"colour": "green"},
         30, "the child to follow its parent")
    assert kopf.text().count("Starting the watch-stream for configmaps.v1") == 1

    # Deletion waits for the delete handler (kopf's finalizer), then completes.
    assert api("delete", "configmap", "shop", "--timeout=60s") == \
        'configmap "shop" deleted from default namespace\n'
    farewell = configmap(api, "shop-farewell")
    assert farewell is not None
    assert farewell["data"]["uid"] == parent["metadata"]["uid"]
    assert configmap(api, "shop") is None
    # The child it owned goes with it: the garbage collector's, for any kind.
    poll(lambda: configmap(api, "shop-child") is None, 30, "the child collected")
    assert "Traceback" not in kopf.text(), kopf.text()[-3000:]


def test_kopf_killed_resumes_without_duplicates(podctl: Podctl, api: ApiController,
                                                operator: Callable[..., Operator]) -> None:
    """kill -9 of the operator: what it made stays single, what was created while it was
    down is handled when it comes back (its list at start, then the watch from there)."""
    kopf = operator(CHILDMAKER_STREAMING="1")
    api("create", "-f", "-", input=parent_manifest("first", "red"))
    poll(lambda: configmap(api, "first-child"), 60, "the first child")
    kopf.kill()
    api("create", "-f", "-", input=parent_manifest("second", "amber"))
    again = operator(CHILDMAKER_STREAMING="1")
    second = poll(lambda: configmap(api, "second-child"), 60, "the second child")
    assert second["data"] == {"colour": "amber"}
    names = api("get", "configmaps", "-o", "name").split()
    assert sorted(n for n in names if "child" in n) == \
        ["configmap/first-child", "configmap/second-child"]
    events = json.loads(api("get", "events", "-o", "json"))["items"]
    assert sorted(e["involvedObject"]["name"] for e in events
                  if e.get("reason") == "ChildCreated") in (
        ["first", "second"], ["first", "first", "second"])
    assert "Traceback" not in again.text(), again.text()[-3000:]


SHOP_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: shops.example.podctl.io}
spec:
  group: example.podctl.io
  scope: Namespaced
  names: {plural: shops, singular: shop, kind: Shop}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              colour: {type: string}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def test_kopf_reconciles_a_custom_resource(podctl: Podctl, api: ApiController,
                                           operator: Callable[..., Operator]) -> None:
    """The issue's operator: a CR becomes a child ConfigMap it owns, its status says so
    (written through the status subresource), and the child goes when the CR does."""
    api("apply", "-f", "-", input=SHOP_CRD)
    api("wait", "--for=condition=Established", "crd/shops.example.podctl.io",
        "--timeout=30s")
    kopf = operator(CHILDMAKER_RESOURCE="example.podctl.io/v1/shops")
    api("create", "-f", "-", input="apiVersion: example.podctl.io/v1\nkind: Shop\n"
        "metadata:\n  name: corner\n  labels: {childmaker: \"on\"}\nspec:\n  colour: blue\n")
    child = poll(lambda: configmap(api, "corner-child"), 60, "the operator's child")
    shop = json.loads(api("get", "shop", "corner", "-o", "json"))
    assert child["data"] == {"colour": "blue"}
    assert child["metadata"]["ownerReferences"] == [{
        "apiVersion": "example.podctl.io/v1", "kind": "Shop", "name": "corner",
        "uid": shop["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]

    def status() -> dict[str, Any]:
        found = json.loads(api("get", "shop", "corner", "-o", "json"))
        return dict(found.get("status") or {}) if "child" in (found.get("status") or {}) \
            else {}

    assert poll(status, 30, "the operator's status") == {
        "child": "corner-child", "reconcile": {"child": "corner-child"}}
    shop = json.loads(api("get", "shop", "corner", "-o", "json"))
    assert shop["metadata"]["finalizers"] == [FINALIZER]
    # kopf wrote the status through /status: the spec's generation did not move.
    assert shop["metadata"]["generation"] == 1

    def posted() -> list[dict[str, Any]]:
        items = json.loads(api("get", "events", "-o", "json"))["items"]
        return [e for e in items if e.get("reason") == "ChildCreated"]

    event = poll(posted, 30, "the operator's event")[0]
    assert event["involvedObject"]["kind"] == "Shop"
    assert event["involvedObject"]["apiVersion"] == "example.podctl.io/v1"
    assert event["involvedObject"]["uid"] == shop["metadata"]["uid"]

    api("patch", "shop", "corner", "--type=merge", "-p", '{"spec":{"colour":"green"}}')
    poll(lambda: (configmap(api, "corner-child") or {}).get("data") == {"colour": "green"},
         30, "the child to follow its custom resource")

    assert api("delete", "shop", "corner", "--timeout=60s") == \
        'shop.example.podctl.io "corner" deleted from default namespace\n'
    farewell = configmap(api, "corner-farewell")
    assert farewell is not None and farewell["data"]["uid"] == shop["metadata"]["uid"]
    poll(lambda: configmap(api, "corner-child") is None, 30, "the child to be collected")
    assert "Traceback" not in kopf.text(), kopf.text()[-3000:]


PEERING = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: kopfpeerings.kopf.dev}
spec:
  scope: Namespaced
  group: kopf.dev
  names: {kind: KopfPeering, plural: kopfpeerings, singular: kopfpeering}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def test_kopf_peering_with_its_crd(podctl: Podctl, api: ApiController,
                                   operator: Callable[..., Operator]) -> None:
    """Peering is optional (the other tests run --standalone; without its CRDs kopf runs
    alone, saying nothing); with its CRD and a KopfPeering, an operator announces itself
    in the peering's status and keeps the handling to itself."""
    api("apply", "-f", "-", input=PEERING)
    api("wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev", "--timeout=30s")
    api("create", "-f", "-", input="apiVersion: kopf.dev/v1\nkind: KopfPeering\n"
        "metadata: {name: default}\n")
    kopf = operator("--namespace=default")

    def peers() -> dict[str, Any]:
        found = json.loads(api("get", "kopfpeering", "default", "-o", "json"))
        return dict(found.get("status") or {})

    announced = poll(peers, 60, "the operator in the peering's status")
    assert [(p["priority"], p["lifetime"]) for p in announced.values()] == [(0, 60)]
    api("create", "-f", "-", input=parent_manifest("peered", "teal"))
    poll(lambda: configmap(api, "peered-child"), 60, "the peered operator's child")
    assert "Traceback" not in kopf.text(), kopf.text()[-3000:]
