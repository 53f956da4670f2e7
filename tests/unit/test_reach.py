"""tools/reach.py: the reach of podctl over a folder of real manifests, judged by
upstream's strict schema and by podctl's validation."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reach() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reach", ROOT / "tools" / "reach.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["reach"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


POD = ("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n"
       "  containers:\n  - {name: c, image: nginx}\n")


def test_documents_are_judged_by_upstream_and_by_podctl(reach: ModuleType,
                                                        tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / "priority.yml").write_text(
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\n"
        "value: 1000\n")
    (tmp_path / "custom.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n")
    (tmp_path / "typo.yaml").write_text(POD.replace("image:", "imag:"))
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n")
    (tmp_path / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    (tmp_path / "notes.txt").write_text(POD)  # not a manifest's suffix: not read

    tally = reach.judge([tmp_path])
    assert (tally.files, tally.not_manifests) == (6, 2)
    verdicts = {(v.kind, v.upstream, v.accepted) for v in tally.verdicts}
    assert verdicts == {("Pod", "valid", True), ("PriorityClass", "valid", False),
                        ("Widget", "unknown", False), ("Pod", "invalid", False)}
    lines = reach.report(tally)
    assert ("6 files, 2 of them not manifests (templates, values, syntax); 4 documents, "
            "2 upstream-valid: podctl accepts 1, refuses 1 (50 %)") in lines
    assert any(line.strip().startswith('1  PriorityClass: no matches for kind '
                                       '"PriorityClass"') for line in lines)
