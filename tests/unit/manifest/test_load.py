"""read_manifests: paths, folders, stdin, streams, Lists, JSON, limits."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from podctl.manifest import ManifestError, Problem, check_document, read_manifests
from podctl.manifest.load import parse_text

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n"
    "spec:\n  containers:\n  - name: c\n    image: x:1\n"
)


def test_missing_path() -> None:
    """kubectl's wording for a path that does not exist."""
    with pytest.raises(ManifestError) as err:
        read_manifests(["nope.yaml"])
    assert str(err.value) == 'the path "nope.yaml" does not exist'


def test_folder_expands_sorted_not_recursive(tmp_path: Path) -> None:
    """Only .yaml/.yml/.json files of the folder itself, sorted by name."""
    (tmp_path / "b.yaml").write_text(POD.format(name="b"))
    (tmp_path / "a.json").write_text(
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}'
    )
    (tmp_path / "c.yml").write_text(POD.format(name="c"))
    (tmp_path / "notes.txt").write_text("not a manifest")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.yaml").write_text(POD.format(name="d"))
    results = read_manifests([str(tmp_path)])
    assert [Path(r.file).name for r in results] == ["a.json", "b.yaml", "c.yml"]
    assert [r.documents[0].obj["metadata"]["name"] for r in results] == ["a", "b", "c"]


def test_folder_without_manifests(tmp_path: Path) -> None:
    """An empty folder is an error, as in kubectl."""
    with pytest.raises(ManifestError, match="recognized file extensions are"):
        read_manifests([str(tmp_path)])


def test_repeated_f_and_stdin(tmp_path: Path) -> None:
    """-f may repeat; "-" reads stdin and is named STDIN."""
    path = tmp_path / "p.yaml"
    path.write_text(POD.format(name="file"))
    results = read_manifests([str(path), "-"], stdin=io.StringIO(POD.format(name="piped")))
    assert [r.file for r in results] == [str(path), "STDIN"]
    assert results[1].documents[0].obj["metadata"]["name"] == "piped"


def test_stream_skips_empty_documents_and_numbers_in_order() -> None:
    """Empty documents are skipped; List items flatten in order; index counts objects."""
    text = (
        "---\n# only a comment\n---\n"
        + POD.format(name="one")
        + "---\n---\napiVersion: v1\nkind: List\nitems:\n"
        + "".join(
            "- " + POD.format(name=n).replace("\n", "\n  ").rstrip() + "\n"
            for n in ("two", "three")
        )
        + "...\n"
    )
    result = parse_text(text, "s.yaml")
    assert result.problems == []
    names = [d.obj["metadata"]["name"] for d in result.documents]
    assert names == ["one", "two", "three"]
    assert [d.index for d in result.documents] == [0, 1, 2]
    assert result.documents[0].line == 4
    assert result.documents[1].line == 17


def test_json_stream_and_positions() -> None:
    """Concatenated JSON objects work and keep positions; a fraction is no integer."""
    text = '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}\n' + (
        '{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "B"},\n'
        ' "spec": {"containers": [{"name": "c", "image": "x",\n'
        '   "ports": [{"containerPort": 80.5}]}]}}\n'
    )
    result = parse_text(text, "s.json")
    assert result.problems == []
    assert len(result.documents) == 2
    problems = check_document(result.documents[1]).problems
    assert next((p.line, p.col) for p in problems) == (3, 23)
    assert "metadata.name" in problems[0].message
    assert "expected integer, got number" in problems[1].message


def test_real_size_limit(tmp_path: Path) -> None:
    """A file over 5 MiB is refused with one clear problem."""
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# x\n" * (5 * 1024 * 1024 // 4 + 10))
    result = read_manifests([str(path)])[0]
    assert result.documents == []
    assert result.problems == [
        Problem(str(path), None, None, "file is larger than 5 MiB; refusing to load it")
    ]


def test_syntax_error_keeps_earlier_documents() -> None:
    """Documents before a syntax error are returned; the error is a file problem."""
    result = parse_text(POD.format(name="ok") + "---\nkind: [\n", "s.yaml")
    assert [d.obj["metadata"]["name"] for d in result.documents] == ["ok"]
    assert len(result.problems) == 1
    assert result.problems[0].line == 11


def test_yaml_bools_and_numbers_follow_yaml_1_1() -> None:
    """yes/on are booleans and 0755 is octal, as in go-yaml v2 (kubectl)."""
    result = parse_text("a: yes\nb: on\nc: 0755\nd: '0755'\ne: 1_000\nf: 2024-01-01\n", "s.yaml")
    assert result.documents[0].obj == {
        "a": True,
        "b": True,
        "c": 493,
        "d": "0755",
        "e": 1000,
        "f": "2024-01-01",
    }


def test_problem_str() -> None:
    """FILE:LINE:COL: message, omitting unknown parts."""
    assert str(Problem("f.yaml", 3, 5, "m")) == "f.yaml:3:5: m"
    assert str(Problem("f.yaml", 3, None, "m")) == "f.yaml:3: m"
    assert str(Problem("STDIN", None, None, "m")) == "STDIN: m"
