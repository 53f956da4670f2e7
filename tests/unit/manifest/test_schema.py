"""The generated schema: small, pinned, complete for the four kinds, reproducible."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from podctl.manifest.schema import SCHEMA_FILE, load_schema, suggest

ROOT = Path(__file__).resolve().parents[3]


def test_schema_is_small_and_pinned() -> None:
    """One compact JSON file under 500 KB, pinned to one Kubernetes version."""
    assert SCHEMA_FILE.stat().st_size < 500_000
    schema = load_schema()
    assert schema.version.count(".") == 2
    assert set(schema.kinds) == {"Pod", "ReplicationController", "Namespace", "Service",
                                 "Endpoints", "ConfigMap", "Secret", "ReplicaSet", "Deployment",
                                 "DaemonSet", "StatefulSet", "ControllerRevision", "Job",
                                 "CronJob", "PodDisruptionBudget", "Node", "Scale", "List",
                                 "PersistentVolume", "PersistentVolumeClaim", "StorageClass",
                                 "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
                                 "ResourceQuota", "LimitRange", "ServiceAccount",
                                 "NetworkPolicy", "CustomResourceDefinition", "Lease",
                                 "HorizontalPodAutoscaler", "Ingress", "IngressClass"}
    assert "containers" in schema.definitions["PodSpec"]["properties"]


def test_suggestions() -> None:
    """Typos, wrong case, misplaced fields and missing list-item spaces get hints."""
    schema = load_schema()
    assert suggest(schema, "contianers", "PodSpec", "Pod") == 'did you mean "containers"?'
    assert (
        suggest(schema, "ContainerPort", "ContainerPort", None) == 'did you mean "containerPort"?'
    )
    assert suggest(schema, "-name", "Container", None).startswith("a list item needs a space")
    assert "indent it further" in suggest(schema, "image", "PodSpec", "Pod")
    assert "indent it less" in suggest(schema, "image", "ContainerPort", "Container")
    assert suggest(schema, "zzzzzz", "PodSpec", "Pod") == ""


@pytest.mark.skipif(
    importlib.util.find_spec("kubernetes_validate") is None,
    reason="dev-time input kubernetes-validate is not installed",
)
def test_generator_reproduces_committed_schema(tmp_path: Path) -> None:
    """tools/gen_schemas.py regenerates exactly the committed file."""
    out = tmp_path / "schema.json"
    version = load_schema().version
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "gen_schemas.py"),
            "--version",
            version,
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert json.loads(out.read_text()) == json.loads(SCHEMA_FILE.read_text())
