"""read_manifests: paths, folders, stdin, streams, Lists, JSON, limits."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from podctl.manifest import ManifestError, Problem, check_document, read_manifests
from podctl.manifest.load import FileResult, parse_text

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


# Aliases of one document expand to 90 + 819 + 7380 + 66429 = 74718 nodes: under the limit
# of 100000 alone, over it for any two documents of the same input.
SMALL_BOMB = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  annotations:\n"
    '    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "spec:\n  containers:\n  - name: c\n    image: x:1\n"
)
BUDGET_MESSAGE = (
    "aliases expand to more than 100000 nodes across all documents and files "
    '("billion laughs" protection); refusing to load any of them'
)


def test_one_small_alias_bomb_alone_loads() -> None:
    """A document whose aliases stay under the limit is an ordinary document."""
    result = parse_text(SMALL_BOMB.format(name="one"), "one.yaml")
    assert result.problems == []
    assert len(result.documents) == 1


def test_alias_budget_spans_the_documents_of_a_stream(tmp_path: Path) -> None:
    """200 small bombs in one file are refused at the alias that crosses the shared limit."""
    path = tmp_path / "bomb.yaml"
    path.write_text("---\n".join(SMALL_BOMB.format(name=f"b{i}") for i in range(200)))
    results = read_manifests([str(path)])
    # Document 2 starts on line 16; its 3rd *d (line 10 of it, column 20) crosses 100000.
    assert results == [FileResult(str(path), [], [Problem(
        str(path), 25, 20, BUDGET_MESSAGE, "    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]")])]
    assert str(results[0].problems[0]) == f"{path}:25:20: {BUDGET_MESSAGE}"


def test_alias_budget_spans_every_file_and_stdin(tmp_path: Path) -> None:
    """Files each under the limit are refused together; nothing of the input is loaded."""
    first, second, later = tmp_path / "1.yaml", tmp_path / "2.yaml", tmp_path / "3.yaml"
    first.write_text(SMALL_BOMB.format(name="first"))
    second.write_text(SMALL_BOMB.format(name="second"))
    later.write_text(POD.format(name="later"))
    assert read_manifests([str(first)])[0].problems == []
    assert read_manifests([str(second)])[0].problems == []
    results = read_manifests([str(first), str(second), str(later)])
    assert [(r.file, r.documents) for r in results] == [(str(second), [])]
    assert [(p.line, p.col, p.message) for p in results[0].problems] == [
        (10, 20, BUDGET_MESSAGE)
    ]
    piped = read_manifests([str(first), "-"], stdin=io.StringIO(SMALL_BOMB.format(name="in")))
    assert [(r.file, r.documents) for r in piped] == [("STDIN", [])]
    assert [str(p) for p in piped[0].problems] == [f"STDIN:10:20: {BUDGET_MESSAGE}"]


def test_alias_budget_counts_merge_keys(tmp_path: Path) -> None:
    """``<<: *anchor`` expands an alias too: two merges of 60001 nodes cross the limit."""
    base = "x: &m {" + ", ".join(f"k{i}: {i}" for i in range(30_000)) + "}\n"
    path = tmp_path / "merge.yaml"
    path.write_text(base + "y:\n  <<: *m\nz:\n  <<: *m\n")
    (result,) = read_manifests([str(path)])
    assert [(p.line, p.col) for p in result.problems] == [(5, 7)]
    assert "billion laughs" in result.problems[0].message


def test_aliases_cannot_nest_past_the_depth_limit() -> None:
    """Each anchor is shallow, but every alias nests the one before it: expanded, the
    document is 15 × 90 levels deep, and is refused where it would cross 100."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: deep}"]
    for i in range(15):
        inner = f"*a{i - 1}" if i else "x"
        lines.append(f"a{i}: &a{i} " + "[" * 90 + inner + "]" * 90)
    result = parse_text("\n".join(lines), "deep.yaml")
    assert result.documents == []
    assert [(p.line, p.col, p.message) for p in result.problems] == [
        (5, 99, "nesting is deeper than 100 levels; refusing to load this document")]


def test_a_document_of_too_many_nodes_is_refused_but_not_the_stream() -> None:
    """The node limit is a document's own: a stream of large documents loads."""
    items = ", ".join(["1"] * 200_000)
    big = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: NAME}}\nx: [{items}]\n"
    result = parse_text("---\n".join(big.replace("NAME", f"c{i}") for i in range(2)),
                        "big.yaml")
    assert (len(result.documents), result.problems) == (2, [])
    huge = big.replace("NAME", "huge").replace("x: [", f"x: [{items}, ")
    result = parse_text(huge, "huge.yaml")
    assert result.documents == []
    assert [(p.line, p.message) for p in result.problems] == [
        (4, "the document holds more than 250000 nodes; refusing to load it")]


def test_aliased_nodes_are_copies_of_their_anchor() -> None:
    """Changing one use of an anchor (as defaulting does) changes no other use."""
    result = parse_text("a: &a {x: [1, {y: 2}]}\nb: *a\nc: [*a]\nd:\n  <<: *a\n  z: 3\n",
                        "aliases.yaml")
    raw = result.documents[0].obj
    assert raw["b"] == raw["c"][0] == raw["a"] == {"x": [1, {"y": 2}]}
    assert raw["d"] == {"z": 3, "x": [1, {"y": 2}]}
    uses = [raw["a"], raw["b"], raw["c"][0], raw["d"]]
    assert len({id(u) for u in uses}) == 4
    assert len({id(u["x"]) for u in uses}) == 4 and len({id(u["x"][1]) for u in uses}) == 4
