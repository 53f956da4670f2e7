"""One write path: the same manifests written through `podctl create -f`, `podctl apply -f`
and the API (the real kubectl) end as the same stored objects, and are refused with the same
error lines.

Each door writes into a namespace of its own. Stored objects are read from the store itself
and compared after taking out what legitimately differs between two writes: uid, timestamps,
resourceVersion, the namespace, a generated name's suffix, allocated cluster IPs, the
last-applied annotation of apply, and what controllers write after the fact (status of
objects a controller or the kubelet keeps, the Deployment's revision annotation). Error
lines are compared as kubectl prints them; podctl's file:line:column before each field error
is its only addition."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from typing import Any

import pytest

from tests.integration.conftest import PAUSE_IMAGE, Podctl, Result
from tests.integration.test_api_kubectl import ApiController

pytestmark = pytest.mark.integration

CONTAINER = f"{{name: c, image: {PAUSE_IMAGE}}}"
SERVER_SET = ("  uid: 0b0e6e8a-0000-4000-8000-000000000001\n"
              '  creationTimestamp: "2001-01-01T00:00:00Z"\n  generation: 7\n')
# One manifest per kind podctl serves for writing, each with server-set fields a client
# must not set, and defaults left for the server to fill. Workloads make no pods
# (replicas 0, suspended, a node selector nothing matches): their pods are not compared.
MANIFESTS = {
    "pod": f"""apiVersion: v1
kind: Pod
metadata:
  name: web
{SERVER_SET}  labels: {{app: web}}
spec:
  containers:
  - {{name: c, image: {PAUSE_IMAGE}, ports: [{{containerPort: 8080}}],
      env: [{{name: POD, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}]}}
  volumes: [{{name: scratch}}]
status: {{phase: Running, podIP: 10.9.9.9}}
""",
    "pod-generated": f"""apiVersion: v1
kind: Pod
metadata: {{generateName: gen-}}
spec: {{containers: [{CONTAINER}]}}
""",
    "rc": f"""apiVersion: v1
kind: ReplicationController
metadata:
  name: rc
{SERVER_SET}spec:
  replicas: 0
  template:
    metadata: {{labels: {{app: rc}}}}
    spec: {{containers: [{CONTAINER}]}}
status: {{replicas: 4}}
""",
    "rs": f"""apiVersion: apps/v1
kind: ReplicaSet
metadata: {{name: rs}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: rs}}}}
  template:
    metadata: {{labels: {{app: rs}}}}
    spec: {{containers: [{CONTAINER}]}}
""",
    "deployment": f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: deploy
{SERVER_SET}spec:
  replicas: 0
  selector: {{matchLabels: {{app: deploy}}}}
  template:
    metadata: {{labels: {{app: deploy}}}}
    spec: {{containers: [{CONTAINER}]}}
""",
    "daemonset": f"""apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: ds}}
spec:
  selector: {{matchLabels: {{app: ds}}}}
  template:
    metadata: {{labels: {{app: ds}}}}
    spec: {{nodeSelector: {{nowhere: "true"}}, containers: [{CONTAINER}]}}
""",
    "job": f"""apiVersion: batch/v1
kind: Job
metadata:
  name: job
{SERVER_SET}spec:
  suspend: true
  template:
    spec: {{restartPolicy: Never, containers: [{CONTAINER}]}}
""",
    "cronjob": f"""apiVersion: batch/v1
kind: CronJob
metadata: {{name: cron}}
spec:
  schedule: "0 0 1 1 *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec: {{restartPolicy: OnFailure, containers: [{CONTAINER}]}}
""",
    "service": f"""apiVersion: v1
kind: Service
metadata:
  name: svc
{SERVER_SET}spec:
  selector: {{app: web}}
  sessionAffinity: ClientIP
  ports: [{{name: http, port: 80, targetPort: 8080}}]
status: {{loadBalancer: {{ingress: [{{ip: 1.2.3.4}}]}}}}
""",
    "endpoints": """apiVersion: v1
kind: Endpoints
metadata: {name: manual}
subsets:
- addresses: [{ip: 10.1.2.3}]
  ports: [{port: 80}]
""",
    "configmap": f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
{SERVER_SET}data: {{key: value}}
""",
    "configmap-generated": """apiVersion: v1
kind: ConfigMap
metadata: {generateName: cfg-}
data: {key: value}
""",
    "secret": """apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {password: hunter2}
""",
    "namespace": """apiVersion: v1
kind: Namespace
metadata:
  name: DOOR-extra
  uid: 0b0e6e8a-0000-4000-8000-000000000002
""",
}
# Refused by the server's rules: each door must print the same lines.
INVALID = {
    "pod": """apiVersion: v1
kind: Pod
metadata:
  name: bad
  labels: {"a b": c}
spec:
  containers:
  - name: c
""",
    "service": """apiVersion: v1
kind: Service
metadata: {name: bad}
spec:
  ports: [{port: 70000}]
""",
    "deployment": f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: bad}}
spec:
  selector: {{matchLabels: {{app: one}}}}
  template:
    metadata: {{labels: {{app: other}}}}
    spec: {{containers: [{CONTAINER}]}}
""",
    "configmap": """apiVersion: v1
kind: ConfigMap
metadata: {name: bad}
data: {"bad key": x}
""",
}
DOORS = ("create", "apply", "api")
# Status a controller or the kubelet writes after the door's write: not the door's.
STATUS_KEPT_BY_CONTROLLERS = ("Pod", "ReplicationController", "ReplicaSet", "Deployment",
                              "DaemonSet", "Job", "CronJob")
WRITTEN_LATER = ("deployment.kubernetes.io/revision",
                 "kubectl.kubernetes.io/last-applied-configuration")


def write(podctl: Podctl, api: ApiController, door: str, path: str, namespace: str,
          verb: str = "create") -> Result:
    if door == "api":
        return api.run(verb, "-f", path, "-n", namespace)
    return podctl.run("apply" if door == "apply" else verb, "-f", path, "-n", namespace)


def stored(podctl: Podctl, kind: str, namespace: str, name: str) -> list[dict[str, Any]]:
    """The stored objects of a kind named `name` (a prefix when it ends in `-`)."""
    ns = namespace if kind != "Namespace" else ""
    with sqlite3.connect(podctl.home / "store.db") as db:
        rows = db.execute("SELECT name, data FROM objects WHERE kind=? AND namespace=?",
                          (kind, ns)).fetchall()
    return [json.loads(data) for found, data in rows
            if found == name or (name.endswith("-") and found.startswith(name))]


def normalized(obj: dict[str, Any], door: str) -> dict[str, Any]:
    md = obj["metadata"]
    text = json.dumps(obj).replace(md["uid"], "<uid>").replace(f"door-{door}", "<door>")
    text = text.replace(f"{door}-extra", "<door>-extra")
    # The ServiceAccount admission's token volume: a random name, as upstream's.
    text = re.sub(r"kube-api-access-[a-z0-9]{5}", "kube-api-access-<suffix>", text)
    out: dict[str, Any] = json.loads(text)
    md = out["metadata"]
    for key in ("creationTimestamp", "resourceVersion", "managedFields"):
        md.pop(key, None)
    if md.get("generateName"):
        md["name"] = md["generateName"] + "<suffix>"
    annotations = {k: v for k, v in (md.get("annotations") or {}).items()
                   if k not in WRITTEN_LATER}
    md.pop("annotations", None)
    if annotations:
        md["annotations"] = annotations
    if out["kind"] in STATUS_KEPT_BY_CONTROLLERS:
        out.pop("status", None)
    spec = out.get("spec") or {}
    if "clusterIP" in spec:
        spec["clusterIP"], spec["clusterIPs"] = "<allocated>", ["<allocated>"]
    return out


def error_lines(text: str) -> list[str]:
    """kubectl's lines: `The Pod "x" is invalid: ` with its causes, each on a line."""
    lines = [re.sub(r"^\S+:\d+:\d+: ", "", line) for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        head, sep, rest = line.partition(" is invalid: ")
        if sep:
            out.append(head + " is invalid:")
            if rest.strip():
                out.append(rest.removeprefix("* "))
        else:
            out.append(line.removeprefix("* "))
    return out


def test_three_doors_store_the_same_objects_and_refuse_alike(podctl: Podctl) -> None:
    api = ApiController(podctl)
    try:
        for door in DOORS:
            podctl("create", "namespace", f"door-{door}")
        mismatches: list[str] = []
        for key, text in MANIFESTS.items():
            mismatches += _compare_written(podctl, api, key, text)
        for key, text in INVALID.items():
            mismatches += _compare_refused(podctl, api, key, text)
        mismatches += _compare_already_exists(podctl, api)
    finally:
        api.stop()
    assert not mismatches, "\n\n".join(mismatches)


def _manifest(podctl: Podctl, text: str, door: str) -> str:
    path = podctl.tmp / f"{door}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(text.replace("DOOR", door))
    return str(path)


def _compare_written(podctl: Podctl, api: ApiController, key: str, text: str) -> list[str]:
    doc = next(iter(_documents(text)))
    kind, md = doc["kind"], doc["metadata"]
    results: dict[str, list[dict[str, Any]]] = {}
    for door in DOORS:
        result = write(podctl, api, door, _manifest(podctl, text, door), f"door-{door}")
        if door == "apply" and md.get("generateName"):
            expected = api.run("apply", "-f", _manifest(podctl, text, "kubectl"), "-n",
                               "door-api")
            if (result.code, result.err.strip()) != (1, expected.err.strip()):
                return [f"{key}: apply of a generated name\n  podctl: {result}\n  kubectl: "
                        f"{expected}"]
            continue
        if result.code != 0:
            return [f"{key}: the {door} door refused it\n{result}"]
        name = md.get("name") or md["generateName"]
        said = re.fullmatch(r"(\S+)/(\S+) created\n", result.out)
        if said is None or not said.group(2).startswith(name.replace("DOOR", door)):
            return [f"{key}: the {door} door said {result.out!r}"]
        found = stored(podctl, kind, f"door-{door}", name.replace("DOOR", door))
        if len(found) != 1:
            return [f"{key}: the {door} door stored {len(found)} objects"]
        kept = _client_values_kept(found[0], md)
        if kept:
            return [f"{key}: the {door} door kept the client's {', '.join(kept)}"]
        results[door] = [normalized(found[0], door)]
    first, *others = list(results.items())
    return [f"{key}: {first[0]} and {door} differ\n  {json.dumps(first[1][0], sort_keys=True)}"
            f"\n  {json.dumps(objs[0], sort_keys=True)}"
            for door, objs in others if objs != first[1]]


def _client_values_kept(obj: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    """Server-set fields the client sent that were stored as sent (none may be)."""
    md = obj["metadata"]
    kept = [key for key in ("uid", "creationTimestamp") if key in sent and md[key] == sent[key]]
    if "generation" in sent and md.get("generation") == sent["generation"]:
        kept.append("generation")
    if obj["kind"] == "Namespace" and obj.get("status") != {"phase": "Active"}:
        kept.append(f"status {obj.get('status')}")
    return kept


def _compare_refused(podctl: Podctl, api: ApiController, key: str, text: str) -> list[str]:
    out = []
    for verb in ("create", "apply"):
        door = "create" if verb == "create" else "apply"
        mine = podctl.run(verb, "-f", _manifest(podctl, text, door), "-n", f"door-{door}")
        theirs = api.run(verb, "-f", _manifest(podctl, text, "api"), "-n", "door-api")
        if mine.code == 0 or theirs.code == 0 or error_lines(mine.err) != error_lines(
                theirs.err):
            out.append(f"invalid {key} via {verb}\n  podctl: {error_lines(mine.err)}\n"
                       f"  kubectl: {error_lines(theirs.err)}")
    return out


def _compare_already_exists(podctl: Podctl, api: ApiController) -> list[str]:
    text = MANIFESTS["secret"]
    mine = podctl.run("create", "-f", _manifest(podctl, text, "x"), "-n", "door-create")
    theirs = api.run("create", "-f", _manifest(podctl, text, "x"), "-n", "door-api")
    pattern = re.compile(r'"[^"]+\.yaml"')
    if pattern.sub("FILE", mine.err) != pattern.sub("FILE", theirs.err) or mine.code == 0:
        return [f"a second create\n  podctl: {mine.err}\n  kubectl: {theirs.err}"]
    return []


def _documents(text: str) -> list[dict[str, Any]]:
    import yaml

    return [d for d in yaml.safe_load_all(text) if d]
