"""ReplicaSets (apps/v1): set-based selectors, adoption, scaling, deletion, kubectl output."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Podctl
from .test_controller import Start

RS = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
    matchExpressions:
    - key: tier
      operator: In
      values: [front, edge]
    - key: canary
      operator: DoesNotExist
  template:
    metadata:
      labels:
        app: web
        tier: front
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: kubia
        image: podctl/kubia:1
"""

BARE = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
{labels}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: kubia
    image: podctl/kubia:1
"""


def bare_pod(podctl: Podctl, name: str, labels: dict[str, str]) -> None:
    podctl.apply_yaml(BARE.format(
        name=name, labels="\n".join(f"    {k}: {v}" for k, v in labels.items())))


def pods(podctl: Podctl) -> list[dict[str, Any]]:
    return list(json.loads(podctl("get", "pods", "-o", "json"))["items"])


def owner_of(pod: dict[str, Any]) -> dict[str, Any] | None:
    refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")]
    return refs[0] if refs else None


def live_owned(podctl: Podctl) -> list[dict[str, Any]]:
    return [p for p in pods(podctl) if (owner_of(p) or {}).get("kind") == "ReplicaSet"
            and not p["metadata"].get("deletionTimestamp")
            and p["status"].get("phase") == "Running"]


def wait_owned(podctl: Podctl, count: int) -> list[dict[str, Any]]:
    podctl.wait_for(lambda: len(live_owned(podctl)) == count
                    and sum(1 for p in pods(podctl) if owner_of(p)) == count,
                    timeout=60, message=f"{count} running pods owned by the ReplicaSet")
    return live_owned(podctl)


def rs_status(podctl: Podctl) -> dict[str, Any]:
    return dict(json.loads(podctl("get", "rs", "web", "-o", "json")).get("status") or {})


def test_replica_set_adopts_a_matching_pod_and_creates_the_rest(
        podctl: Podctl, controller: Start) -> None:
    controller()
    bare_pod(podctl, "adoptee", {"app": "web", "tier": "edge"})
    bare_pod(podctl, "canary", {"app": "web", "tier": "front", "canary": "v1"})
    assert podctl.apply_yaml(RS) == "replicaset.apps/web created\n"
    owned = wait_owned(podctl, 3)
    names = sorted(p["metadata"]["name"] for p in owned)
    assert "adoptee" in names and "canary" not in names
    uid = json.loads(podctl("get", "rs", "web", "-o", "json"))["metadata"]["uid"]
    for pod in owned:
        assert owner_of(pod) == {"apiVersion": "apps/v1", "blockOwnerDeletion": True,
                                 "controller": True, "kind": "ReplicaSet", "name": "web",
                                 "uid": uid}
    created = [n for n in names if n != "adoptee"]
    assert all(n.startswith("web-") and len(n) == len("web-") + 5 for n in created)
    podctl.wait_for(lambda: rs_status(podctl).get("readyReplicas") == 3, timeout=60,
                    message="three ready replicas")

    header, row = podctl("get", "rs").splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert row.split()[:4] == ["web", "3", "3", "3"]
    wide = podctl("get", "rs", "-o", "wide").splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].endswith("kubia        podctl/kubia:1   app=web,!canary,tier in (edge,front)")
    described = podctl("describe", "rs", "web").splitlines()
    assert described[:3] == ["Name:         web", "Namespace:    default",
                             "Selector:     app=web,!canary,tier in (edge,front)"]
    assert "Replicas:     3 current / 3 desired" in described
    assert "Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    created_events = [line for line in described if "SuccessfulCreate" in line]
    assert len(created_events) == 2
    assert all(line.split()[3] == "replicaset-controller" for line in created_events)
    assert "replicaset.apps/web" in podctl("get", "all")


def test_scale_and_delete_with_each_cascade(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(RS)
    wait_owned(podctl, 3)
    assert podctl("scale", "rs", "web", "--replicas=1") == "replicaset.apps/web scaled\n"
    wait_owned(podctl, 1)
    podctl.wait_for(lambda: rs_status(podctl).get("replicas") == 1, timeout=30,
                    message="status.replicas 1")
    assert podctl("scale", "replicaset/web", "--replicas=2") == "replicaset.apps/web scaled\n"
    kept = {p["metadata"]["name"] for p in wait_owned(podctl, 2)}

    assert podctl("delete", "rs", "web", "--cascade=orphan") == 'replicaset.apps "web" deleted\n'
    left = {p["metadata"]["name"]: p for p in pods(podctl)}
    assert set(left) == kept and all(owner_of(p) is None for p in left.values())
    absent = podctl.run("get", "rs", "web")
    assert absent.code != 0
    assert 'replicasets.apps "web" not found' in absent.err

    # A new ReplicaSet adopts the orphans; deleting it in the background takes them along.
    podctl.apply_yaml(RS.replace("replicas: 3", "replicas: 2"))
    assert {p["metadata"]["name"] for p in wait_owned(podctl, 2)} == kept
    assert podctl("delete", "rs", "web") == 'replicaset.apps "web" deleted\n'
    podctl.wait_for(lambda: not pods(podctl), timeout=60, message="pods deleted with the RS")


def test_selector_is_immutable_on_apply(podctl: Podctl) -> None:
    path = podctl.tmp / "rs.yaml"
    path.write_text(RS.replace("replicas: 3", "replicas: 0"))
    assert podctl("apply", "-f", str(path)) == "replicaset.apps/web created\n"
    path.write_text(RS.replace("replicas: 3", "replicas: 0").replace("[front, edge]", "[front]"))
    result = podctl.run("apply", "-f", str(path))
    assert result.code != 0
    assert result.err.strip().endswith(
        'The ReplicaSet "web" is invalid: spec.selector: Invalid value: {"matchLabels":'
        '{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["front"]},'
        '{"key":"canary","operator":"DoesNotExist"}]}: field is immutable')
    labelled = podctl("label", "rs", "web", "team=a")
    assert labelled == "replicaset.apps/web labeled\n"
    exposed = podctl.run("expose", "rs", "web", "--port", "80")
    assert exposed.code != 0 and "couldn't convert expressions" in exposed.err
