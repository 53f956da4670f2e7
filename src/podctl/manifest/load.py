"""Reading manifests: -f files, folders and stdin; YAML or JSON; multi-document; kind List."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from podctl.manifest.locate import SourceMap
from podctl.manifest.problems import ManifestError, Problem, type_name
from podctl.manifest.yamlparse import MAX_DEPTH, AliasBudget, ParseIssue, RawDoc, parse_yaml

MAX_FILE_BYTES = 5 * 1024 * 1024
EXTENSIONS = (".json", ".yaml", ".yml")
STDIN_NAME = "STDIN"
_LIST_FIELDS = frozenset({"apiVersion", "kind", "metadata", "items"})


@dataclass
class Document:
    """One object of a manifest file, in file order after flattening streams and Lists."""

    file: str
    index: int
    obj: dict[str, Any]
    line: int | None
    source: SourceMap | None = field(default=None, repr=False, compare=False)


@dataclass
class FileResult:
    """Everything read from one file.

    ``problems`` are syntax/limit problems of the file itself; ``documents`` then holds only what
    parsed before a fatal problem (all documents for non-fatal ones such as duplicate keys).
    Callers must create nothing from a file whose ``problems`` (or any document's) are non-empty.
    """

    file: str
    documents: list[Document]
    problems: list[Problem]


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Files named by -f values: folders expand to their manifest files, sorted, not recursive."""
    out: list[str] = []
    for path in paths:
        if path == "-":
            out.append(path)
            continue
        if not os.path.exists(path):
            raise ManifestError(f'the path "{path}" does not exist')
        if os.path.isdir(path):
            names = sorted(
                n
                for n in os.listdir(path)
                if n.endswith(EXTENSIONS) and os.path.isfile(os.path.join(path, n))
            )
            if not names:
                raise ManifestError(
                    f"error reading [{path}]: recognized file extensions are [.json .yaml .yml]"
                )
            out.extend(os.path.join(path, n) for n in names)
        else:
            out.append(path)
    return out


def _read_bytes(path: str, stdin: IO[str] | None) -> bytes | str:
    """Raw content (at most the limit plus one byte, so oversize is detectable)."""
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            data: bytes = buffer.read(MAX_FILE_BYTES + 1)
            return data
        return stream.read(MAX_FILE_BYTES + 1)
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        raise ManifestError(f"open {path}: permission denied") from None
    except OSError as exc:
        raise ManifestError(f"open {path}: {exc.strerror or exc}") from None


def _decode(data: bytes | str, name: str) -> tuple[str | None, Problem | None]:
    """Text of a file, or a problem for oversize, non-UTF-8 or binary content."""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > MAX_FILE_BYTES:
        return None, Problem(
            name,
            None,
            None,
            f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; refusing to load it",
        )
    if isinstance(data, str):
        decoded = data
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            decoded = data.decode("utf-16")
        except UnicodeDecodeError:
            return None, Problem(
                name, None, None, "file starts with a UTF-16 mark but is not UTF-16 text"
            )
    else:
        try:
            decoded = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            head = data[: exc.start]
            line = head.count(b"\n") + 1
            col = exc.start - (head.rfind(b"\n") + 1) + 1
            return None, Problem(
                name,
                line,
                col,
                f"file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                "is it a binary file?",
            )
    text = decoded.lstrip("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        return None, Problem(name, line, None, "file contains NUL bytes; is it a binary file?")
    return text, None


def _looks_like_json(text: str, name: str) -> bool:
    """kubectl decodes content starting with '{' as JSON (and so do we for .json files)."""
    stripped = text.lstrip()
    return name.endswith(".json") or stripped.startswith("{")


class _DuplicateKeys:
    """json object_pairs_hook that remembers duplicate keys instead of dropping them."""

    def __init__(self) -> None:
        self.duplicates: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                self.duplicates.append(key)
            out[key] = value
        return out


def _parse_json(
    text: str, budget: AliasBudget
) -> tuple[list[RawDoc], list[ParseIssue], bool]:
    """JSON stream: values from the json module, positions from the YAML parser (per object)."""
    hook = _DuplicateKeys()
    decoder = json.JSONDecoder(object_pairs_hook=hook)
    spans: list[tuple[Any, int, int]] = []
    idx = 0
    try:
        while True:
            while idx < len(text) and text[idx] in " \t\r\n":
                idx += 1
            if idx >= len(text):
                break
            value, end = decoder.raw_decode(text, idx)
            spans.append((value, idx, end))
            idx = end
    except json.JSONDecodeError as exc:
        return [], [ParseIssue(exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")], True
    except RecursionError:
        return [], [ParseIssue(None, None, f"nesting is deeper than {MAX_DEPTH} levels")], True
    docs: list[RawDoc] = []
    issues: list[ParseIssue] = []
    for value, begin, end in spans:
        if value is None:
            continue
        # Same line/column numbers as in the file, without re-parsing what came before.
        line_start = text.rfind("\n", 0, begin) + 1
        segment = "\n" * text.count("\n", 0, begin) + " " * (begin - line_start) + text[begin:end]
        parsed = parse_yaml(segment, budget)
        if parsed.fatal or len(parsed.docs) != 1:
            issues.extend(ParseIssue(None, None, f'duplicate field "{k}"') for k in hook.duplicates)
            hook.duplicates.clear()
            docs.append(RawDoc(value, text.count("\n", 0, begin) + 1, {}))
            continue
        hook.duplicates.clear()
        issues.extend(parsed.issues)
        docs.append(RawDoc(value, parsed.docs[0].line, parsed.docs[0].positions))
    return docs, issues, False


def _problem(name: str, sm: SourceMap, issue: ParseIssue) -> Problem:
    """ParseIssue → Problem with its source line."""
    return Problem(name, issue.line, issue.col, issue.message, sm.line_text(issue.line))


def parse_text(text: str, name: str, budget: AliasBudget | None = None) -> FileResult:
    """Split one file's text into documents (flattening Lists) and file-level problems.

    ``budget`` is the alias budget of the whole input this text belongs to (None: its own).
    Once it is exceeded the result is that one problem and no documents.
    """
    budget = AliasBudget() if budget is None else budget
    if _looks_like_json(text, name):
        raw, issues, fatal = _parse_json(text, budget)
        if fatal and not name.endswith(".json") and budget.exceeded is None:
            parsed = parse_yaml(text, budget)
            if not parsed.fatal:
                raw, issues = parsed.docs, parsed.issues
    else:
        parsed = parse_yaml(text, budget)
        raw, issues = parsed.docs, parsed.issues
    sm_text = SourceMap(text, {})
    if budget.exceeded is not None:
        return FileResult(name, [], [_problem(name, sm_text, budget.exceeded)])
    problems = [_problem(name, sm_text, i) for i in issues]
    documents: list[Document] = []
    for doc in raw:
        source = SourceMap(text, doc.positions)
        _flatten(name, doc.value, doc.line, source, documents, problems)
    return FileResult(name, documents, problems)


def _article(noun: str) -> str:
    """'an integer', 'a list'."""
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _flatten(
    name: str,
    value: Any,
    line: int | None,
    source: SourceMap,
    out: list[Document],
    problems: list[Problem],
    depth: int = 0,
) -> None:
    """Append ``value`` as a document, or its items when it is a List."""
    if not isinstance(value, dict):
        pos = source.value_pos(())
        problems.append(
            Problem(
                name,
                pos[0] if pos else line,
                pos[1] if pos else None,
                "a manifest must be a mapping with apiVersion, kind and metadata, "
                f"got {_article(type_name(value))}",
                source.line_text(pos[0] if pos else line),
            )
        )
        return
    kind = value.get("kind")
    items = value.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list) and depth < 4:
        for key in value:
            if key not in _LIST_FIELDS:
                pos = source.key_pos((key,))
                problems.append(
                    Problem(
                        name,
                        pos[0] if pos else line,
                        pos[1] if pos else None,
                        f'unknown field "{key}" '
                        f"(a {kind} has only apiVersion, kind, metadata and items)",
                        source.line_text(pos[0] if pos else line),
                    )
                )
        for i, item in enumerate(items):
            child = source.child("items", i)
            pos = child.value_pos(())
            _flatten(name, item, pos[0] if pos else line, child, out, problems, depth + 1)
        return
    out.append(Document(name, len(out), value, line, source))


def read_manifests(paths: Sequence[str], stdin: IO[str] | None = None) -> list[FileResult]:
    """Read every -f path (files, folders, "-" for stdin) into documents and problems.

    All paths share one alias budget. When it is exceeded the whole input is refused: the
    result is that single problem, and the files after it are not read.
    """
    results: list[FileResult] = []
    budget = AliasBudget()
    for path in expand_paths(paths):
        name = STDIN_NAME if path == "-" else path
        data = _read_bytes(path, stdin)
        text, problem = _decode(data, name)
        if text is None:
            results.append(FileResult(name, [], [problem] if problem else []))
            continue
        result = parse_text(text, name, budget)
        if budget.exceeded is not None:
            return [result]
        results.append(result)
    return results
