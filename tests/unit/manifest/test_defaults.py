"""API-server defaults: a minimal object gets every default the reference lists."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.api.images import default_pull_policy
from podctl.manifest import check_document, default_pod_spec
from podctl.manifest.load import parse_text


def checked_obj(text: str, namespace: str | None = None) -> dict[str, Any]:
    """Parse one document and return the defaulted object (asserting it is valid)."""
    result = parse_text(text, "t.yaml")
    assert result.problems == []
    checked = check_document(result.documents[0], namespace)
    assert checked.problems == [], [str(p) for p in checked.problems]
    assert checked.obj is not None
    return checked.obj


MINIMAL_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: kubia
spec:
  containers:
  - name: kubia
    image: podctl/kubia
"""


def test_minimal_pod_gets_every_default() -> None:
    """restartPolicy, dnsPolicy, scheduler, grace, securityContext, service links, container."""
    obj = checked_obj(MINIMAL_POD)
    assert obj == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kubia", "namespace": "default"},
        "spec": {
            "containers": [
                {
                    "name": "kubia",
                    "image": "podctl/kubia",
                    "imagePullPolicy": "Always",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }
            ],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
        },
    }


def test_server_fields_are_not_invented_and_status_is_dropped() -> None:
    """No uid/creationTimestamp/resourceVersion; status from the manifest is dropped."""
    obj = checked_obj(MINIMAL_POD + "status:\n  phase: Running\n")
    assert "status" not in obj
    assert set(obj["metadata"]) == {"name", "namespace"}


def test_namespace_flag_fills_namespace() -> None:
    """-n fills metadata.namespace when the manifest has none."""
    assert checked_obj(MINIMAL_POD, "custom")["metadata"]["namespace"] == "custom"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("podctl/kubia", "Always"),
        ("podctl/kubia:latest", "Always"),
        ("podctl/kubia:1", "IfNotPresent"),
        ("localhost:5000/kubia", "Always"),
        ("localhost:5000/kubia:v2", "IfNotPresent"),
        ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy_by_tag(image: str, policy: str) -> None:
    """Always for latest or no tag; IfNotPresent otherwise (digests too)."""
    spec = default_pod_spec({"containers": [{"name": "c", "image": image}]})
    assert spec["containers"][0]["imagePullPolicy"] == policy


def test_registry_ports_are_not_tags() -> None:
    assert default_pull_policy("registry:5000/x") == "Always"
    assert default_pull_policy("registry:5000/x:1.2") == "IfNotPresent"


def test_container_level_defaults() -> None:
    """Ports, probes, httpGet, grpc, env fieldRef, volumes, hostPath, limits→requests."""
    spec = default_pod_spec(
        {
            "containers": [
                {
                    "name": "c",
                    "image": "x:1",
                    "ports": [{"containerPort": 8080}],
                    "env": [
                        {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                    ],
                    "livenessProbe": {"httpGet": {"port": 8080}},
                    "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 0},
                    "startupProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 30},
                    "resources": {
                        "limits": {"cpu": "500m", "memory": "64Mi"},
                        "requests": {"cpu": "100m"},
                    },
                }
            ],
            "volumes": [{"name": "a"}, {"name": "b", "hostPath": {"path": "/tmp"}}],
        }
    )
    ctr = spec["containers"][0]
    assert ctr["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert ctr["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert ctr["livenessProbe"] == {
        "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert "initialDelaySeconds" not in ctr["livenessProbe"]
    assert ctr["readinessProbe"]["periodSeconds"] == 10
    assert ctr["readinessProbe"]["grpc"] == {"port": 9000, "service": ""}
    assert ctr["startupProbe"]["failureThreshold"] == 30
    assert ctr["resources"]["requests"] == {"cpu": "100m", "memory": "64Mi"}
    assert spec["volumes"] == [
        {"name": "a", "emptyDir": {}},
        {"name": "b", "hostPath": {"path": "/tmp", "type": ""}},
    ]


def test_default_pod_spec_copies() -> None:
    """The input spec is not modified."""
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x"}]}
    default_pod_spec(spec)
    assert spec == {"containers": [{"name": "c", "image": "x"}]}


def test_host_network_ports() -> None:
    """With hostNetwork, hostPort defaults to containerPort."""
    spec = default_pod_spec(
        {
            "hostNetwork": True,
            "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}]}],
        }
    )
    assert spec["containers"][0]["ports"][0]["hostPort"] == 80


RC = """
apiVersion: v1
kind: ReplicationController
metadata:
  name: kubia
spec:
  template:
    metadata:
      labels:
        app: kubia
    spec:
      containers:
      - name: kubia
        image: podctl/kubia:1
        resources:
          limits:
            cpu: "1"
"""


def test_rc_defaults() -> None:
    """replicas 1, selector and RC labels from the template, template spec defaults."""
    obj = checked_obj(RC)
    assert obj["metadata"] == {"name": "kubia", "namespace": "default", "labels": {"app": "kubia"}}
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["selector"] == {"app": "kubia"}
    tspec = spec["template"]["spec"]
    assert tspec["restartPolicy"] == "Always"
    assert tspec["dnsPolicy"] == "ClusterFirst"
    assert tspec["terminationGracePeriodSeconds"] == 30
    assert tspec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    # Pod-only defaults stay off templates (as in SetDefaults_Pod).
    assert "enableServiceLinks" not in tspec
    assert "requests" not in tspec["containers"][0]["resources"]


def test_rc_keeps_explicit_selector_labels_and_replicas() -> None:
    """Explicit values win over defaults (replicas 0 included)."""
    obj = checked_obj(
        RC.replace(
            "spec:\n  template:",
            "spec:\n  replicas: 0\n  selector:\n    app: kubia\n  template:",
            1,
        ).replace("  name: kubia\n", "  name: kubia\n  labels:\n    team: a\n", 1)
    )
    assert obj["spec"]["replicas"] == 0
    assert obj["metadata"]["labels"] == {"team": "a"}


def test_namespace_defaults() -> None:
    """Namespaces get their name label and the kubernetes finalizer, and no namespace."""
    obj = checked_obj("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: custom\n", "other")
    assert obj == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "custom", "labels": {"kubernetes.io/metadata.name": "custom"}},
        "spec": {"finalizers": ["kubernetes"]},
    }


def test_nulls_are_unset() -> None:
    """A null field is treated as absent and then defaulted."""
    obj = checked_obj(MINIMAL_POD + "  restartPolicy: null\n  nodeSelector: ~\n")
    assert obj["spec"]["restartPolicy"] == "Always"
    assert "nodeSelector" not in obj["spec"]
