"""explain: kubectl v1.3x's plaintext layout over the generated upstream descriptions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from podctl.api.meta import RESOURCES
from podctl.errors import PodctlError
from podctl.manifest.explain import DOCS_FILE, explain, load_docs, wrap
from podctl.manifest.schema import load_schema

ROOT = Path(__file__).resolve().parents[2]


def test_kind_view_has_header_description_and_described_fields() -> None:
    text = explain("Pod", [])
    assert text.startswith("KIND:       Pod\nVERSION:    v1\n\nDESCRIPTION:\n"
                           "    Pod is a collection of containers that can run on a host.")
    assert "\n    \nFIELDS:\n  apiVersion\t<string>\n    APIVersion defines" in text
    assert "\n  spec\t<PodSpec>\n    Specification of the desired behavior of the pod." in text


def test_field_view_names_the_field_and_adds_its_type_description() -> None:
    text = explain("Pod", ["spec", "containers", "livenessProbe"])
    assert "\n\nFIELD: livenessProbe <Probe>\n\n\nDESCRIPTION:\n    Periodic probe" in text
    assert "\n    Probe describes a health check" in text
    assert "\n  exec\t<ExecAction>\n    Exec specifies a command" in text
    assert "\n  failureThreshold\t<integer>\n" in text


def test_required_fields_are_marked() -> None:
    text = explain("Pod", ["spec"])
    assert "\n  containers\t<[]Container> -required-\n" in text
    assert "\n  nodeSelector\t<map[string]string>\n" in text


def test_scalar_and_map_fields_have_no_fields_section() -> None:
    text = explain("Pod", ["metadata", "labels"])
    assert "FIELD: labels <map[string]string>" in text
    assert "FIELDS:" not in text
    assert text.endswith("\n    \n\n")


def test_recursive_lists_names_and_types_as_an_indented_tree() -> None:
    lines = explain("Pod", ["spec", "containers"], recursive=True).splitlines()
    start = lines.index("FIELDS:")
    assert lines[start + 1] == "  args\t<[]string>"
    assert "  livenessProbe\t<Probe>" in lines
    probe = lines.index("  livenessProbe\t<Probe>")
    assert "    httpGet\t<HTTPGetAction>" in lines[probe:]
    assert "      port\t<IntOrString> -required-" in lines[probe:]
    assert not any(line.startswith("    Periodic probe") for line in lines)


def test_traversal_goes_through_arrays_and_refs() -> None:
    text = explain("ReplicationController", ["spec", "template", "spec", "containers", "image"])
    assert text.startswith("KIND:       ReplicationController\n")
    assert "FIELD: image <string>" in text


def test_unknown_field_names_the_last_field_asked_for() -> None:
    with pytest.raises(PodctlError, match=r'^field "nope" does not exist$'):
        explain("Pod", ["spec", "nope"])
    with pytest.raises(PodctlError, match=r'^field "image" does not exist$'):
        explain("Pod", ["spec", "nope", "image"])


def test_every_kind_podctl_serves_is_documented() -> None:
    for kind, resource in RESOURCES.items():
        group, _, version = resource.api_version.rpartition("/")
        head = f"GROUP:      {group}\n" if group else ""
        assert explain(kind, []).startswith(f"{head}KIND:       {kind}\nVERSION:    {version}\n\n")


def test_wrap_keeps_line_breaks_and_gives_long_words_their_own_line() -> None:
    url = "https://example.com/" + "x" * 80
    assert wrap(f"see {url} there", 20) == f"see\n{url}\nthere"
    assert wrap("one two\nthree four five", 10) == "one two\nthree four\nfive"
    assert all(len(line) <= 30 for line in wrap("word " * 40, 30).splitlines())


def test_descriptions_bundle_is_pinned_to_the_schema_version() -> None:
    assert load_docs()["kubernetesVersion"] == load_schema().version
    assert DOCS_FILE.stat().st_size < 1_000_000


def test_validation_does_not_load_the_descriptions() -> None:
    code = ("import sys\n"
            "from podctl.manifest import check_document, read_manifests\n"
            "import io\n"
            "doc = 'apiVersion: v1\\nkind: Pod\\nmetadata: {name: a}\\n"
            "spec: {containers: [{name: a, image: b}]}\\n'\n"
            "result = next(iter(read_manifests(['-'], io.StringIO(doc))))\n"
            "assert not check_document(result.documents[0], None).problems\n"
            "print('podctl.manifest.explain' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_generator_reproduces_committed_descriptions(tmp_path: Path) -> None:
    explain_out = tmp_path / "explain.json"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_schemas.py"), "--version",
         load_schema().version, "--out", str(tmp_path / "schema.json"),
         "--explain-out", str(explain_out)],
        check=True, capture_output=True,
    )
    assert json.loads(explain_out.read_text()) == json.loads(DOCS_FILE.read_text())
