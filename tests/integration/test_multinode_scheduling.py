"""Scheduling over several nodes: fake Node objects registered through the registry (no
kubelet runs them, so pods bound to them stay Pending and unstarted), pods made by
`podctl create -f` and through the API, the node each is bound to and the scheduler's
FailedScheduling words asserted."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from podctl import registry
from podctl.api.meta import Obj
from podctl.home import podctl_home
from podctl.node import ensure_node
from podctl.notify import notify_controller
from podctl.store import Store, open_store

from .conftest import Podctl
from .test_api_kubectl import ApiController, poll
from .test_controller import Start

pytestmark = pytest.mark.integration

# Named to sort after the host's node: today's kubelet takes the first node as its own.
FAKES = {
    "zz-a": ({"pool": "fake", "topology.kubernetes.io/zone": "z1"}, [], "2", False),
    "zz-b": ({"pool": "fake", "topology.kubernetes.io/zone": "z2"},
             [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}], "4", False),
    "zz-c": ({"pool": "fake", "topology.kubernetes.io/zone": "z2"}, [], "4", True),
}
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


def fake_node(name: str) -> Obj:
    labels, taints, cpu, cordoned = FAKES[name]
    resources = {"cpu": cpu, "memory": "8Gi", "pods": "110"}
    spec: Obj = {"taints": taints} if taints else {}
    if cordoned:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}},
            "spec": spec,
            "status": {"capacity": resources, "allocatable": resources,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


@pytest.fixture
def store(podctl: Podctl, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The home's store as the kubelet of another node would write it, from this process
    (a write wakes a running controller)."""
    monkeypatch.setenv("PODCTL_HOME", str(podctl.home))
    opened = open_store(podctl_home(), functools.partial(notify_controller, podctl.home))
    yield opened
    opened.close()


def register_fakes(store: Store) -> str:
    """The host's node (registered first, as a controller or command would), then the fake
    ones; the host's name."""
    host = ensure_node(store)["metadata"]["name"]
    for name in FAKES:
        registry.create(store, fake_node(name))
    assert store.list("Node")[0]["metadata"]["name"] == host
    return host


def spec_of(podctl: Podctl, name: str) -> dict[str, Any]:
    return dict(podctl.pod_json(name)["spec"])


def unscheduled_message(podctl: Podctl, name: str) -> str:
    pod = podctl.pod_json(name)
    assert "nodeName" not in pod["spec"], pod["spec"]
    (condition,) = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    return str(condition["message"])


CLI_MANIFEST = """
apiVersion: v1
kind: Pod
metadata: {name: db, labels: {app: db}}
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [z2]}]
  tolerations: [{key: dedicated, operator: Exists}]
  containers: [{name: c, image: podctl/busybox:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: cache}
spec:
  affinity:
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app: db}}
        topologyKey: topology.kubernetes.io/zone
  tolerations: [{key: dedicated, operator: Exists}]
  containers: [{name: c, image: podctl/busybox:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  nodeSelector: {pool: fake}
  containers:
  - {name: c, image: podctl/busybox:1, resources: {requests: {cpu: "3"}}}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: web}
spec:
  replicas: 3
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {pool: fake}
      tolerations: [{key: dedicated, operator: Exists}]
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: web}}
            topologyKey: kubernetes.io/hostname
      containers: [{name: c, image: podctl/busybox:1}]
"""


def test_create_places_pods_by_affinity_taints_resources_and_anti_affinity(
        podctl: Podctl, store: Store) -> None:
    register_fakes(store)
    podctl.apply_yaml(CLI_MANIFEST)
    assert spec_of(podctl, "db")["nodeName"] == "zz-b"  # z2, tolerated; zz-c is cordoned
    assert spec_of(podctl, "cache")["nodeName"] == "zz-b"  # the db's zone
    assert unscheduled_message(podctl, "big") == (
        "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node "
        "affinity/selector, 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable. "
        f"preemption: 0/4 nodes are available: 4 {NOT_HELPFUL}.")
    web = json.loads(podctl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    placed = sorted(p["spec"].get("nodeName", "") for p in web)
    assert placed == ["", "zz-a", "zz-b"]  # one per schedulable node, the third waits
    (waiting,) = [p["metadata"]["name"] for p in web if not p["spec"].get("nodeName")]
    expected = (
        "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 "
        "node(s) were unschedulable, 2 node(s) didn't match pod anti-affinity rules. "
        f"preemption: 0/4 nodes are available: 2 {NO_VICTIMS}, 2 {NOT_HELPFUL}.")
    assert unscheduled_message(podctl, waiting) == expected
    described = podctl("describe", "pod", waiting)
    assert "FailedScheduling" in described and expected in " ".join(described.split())
    assert "Successfully assigned default/db to zz-b" in podctl("describe", "pod", "db")
    # Bound to nodes no kubelet runs: nothing started on this engine.
    assert podctl.pod_json("db")["status"]["phase"] == "Pending"


WAITER = """
apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [z2]}]
  containers: [{name: c, image: podctl/busybox:1}]
"""

SPREAD = """
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: spread}
spec:
  replicas: 2
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      nodeSelector: {pool: fake}
      tolerations: [{key: dedicated, operator: Exists}]
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {app: spread}}
      containers: [{name: c, image: podctl/busybox:1}]
"""


def test_api_pods_wait_for_room_and_are_bound_when_a_node_changes(
        podctl: Podctl, store: Store) -> None:
    api = ApiController(podctl)
    try:
        poll(lambda: store.list("Node"), 30, "the controller to register its node")
        register_fakes(store)
        api("create", "-f", "-", input=WAITER)
        expected = (
            "0/4 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were "
            "unschedulable, 2 node(s) didn't match Pod's node affinity/selector. preemption: "
            f"0/4 nodes are available: 4 {NOT_HELPFUL}.")
        events = "jsonpath={.items[*].message}"
        poll(lambda: expected in api("get", "events", "--field-selector",
                                     "involvedObject.name=waiter,reason=FailedScheduling",
                                     "-o", events), 30, "FailedScheduling")
        # Uncordon zz-c: the Node's change wakes the scheduler, which binds the pod there.
        registry.mutate(store, "Node", "", "zz-c", _uncordon)
        poll(lambda: api("get", "pod", "waiter", "-o", "jsonpath={.spec.nodeName}") == "zz-c",
             30, "the pod bound to zz-c")
        assert "Successfully assigned default/waiter to zz-c" in api(
            "get", "events", "--field-selector", "involvedObject.name=waiter", "-o", events)
        # Spread by zone: z1 has zz-a, z2 has zz-b and zz-c; one pod in each zone.
        api("create", "-f", "-", input=SPREAD)
        nodes = poll(lambda: _bound_nodes(api, "app=spread", 2), 30, "both replicas bound")
        zones = {FAKES[n][0]["topology.kubernetes.io/zone"] for n in nodes}
        assert zones == {"z1", "z2"}, nodes
    finally:
        api.stop()


def _uncordon(node: Obj) -> bool:
    node["spec"].pop("unschedulable", None)
    return True


def _bound_nodes(api: ApiController, selector: str, count: int) -> list[str] | None:
    names = api("get", "pods", "-l", selector, "-o", "jsonpath={.items[*].spec.nodeName}")
    found = names.split()
    return found if len(found) == count else None


SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


def test_the_data_plane_pods_stay_on_this_engine(podctl: Podctl, store: Store,
                                                controller: Start) -> None:
    controller()
    poll(lambda: store.list("Node"), 30, "the controller to register its node")
    host = register_fakes(store)
    # An empty node far bigger than this engine: the scheduler's favourite for any pod.
    big = fake_node("zz-a")
    big["metadata"] = {"name": "zz-big", "labels": {"kubernetes.io/hostname": "zz-big"}}
    big["status"]["allocatable"] = {"cpu": "64", "memory": "256Gi", "pods": "110"}
    registry.create(store, big)
    podctl.apply_yaml(SERVICE)
    for name in ("kube-proxy", "kube-dns"):
        poll(lambda name=name: store.get("Pod", "kube-system", name), 30, f"the {name} pod")
        assert store.require("Pod", "kube-system", name)["spec"]["nodeName"] == host
