"""Differential test: the generated walker against jsonschema with the upstream strict schema.

jsonschema is the oracle here, not at runtime (README: "Why a generated walker"). Both judge
the same manifest valid or invalid at the schema level; the walker's API-server rules
(rules.py) are left out because no JSON schema can express them. Where the walker departs
from the strict schema on purpose, the departure is one named, narrow exception below.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referencing import Registry, Resource

from podctl.api.meta import api_version as served_version
from podctl.manifest import read_manifests
from podctl.manifest.check import SUPPORTED_KINDS
from podctl.manifest.schema import FieldError, load_schema, validate_structure

from .conftest import DATA

STRICT = (
    Path(kubernetes_validate.__file__).parent
    / "kubernetes-json-schema"
    / f"v{load_schema().version}-local-strict"
)
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@cache
def _registry() -> Registry[Any]:
    defs = json.loads((STRICT / "_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(defs) @ Registry()


@cache
def upstream_validator(kind: str) -> jsonschema.Draft202012Validator:
    """One compiled validator per kind: the upstream strict schema, as kubernetes-validate uses."""
    # Files are named kind-version, with the group between them outside the core group (its
    # first word: storage.k8s.io/v1 is `storage-v1`, rbac.authorization.k8s.io/v1 `rbac-v1`).
    group, _, version = served_version(kind).rpartition("/")
    name = f"{kind.lower()}-{group.split('.')[0] + '-' if group else ''}{version}.json"
    root = json.loads((STRICT / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(root, registry=_registry())


# --- the walker's schema-level verdict, and its intended departures -------------------------


def _nodes(obj: Any, path: tuple[Any, ...]) -> list[tuple[Any, Any]]:
    """(key, value) of each step along ``path`` that exists."""
    steps, node = [], obj
    for elem in path:
        try:
            node = node[elem]
        except (KeyError, IndexError, TypeError):
            break
        steps.append((elem, node))
    return steps


def _inside_null_item(obj: Any, path: tuple[Any, ...]) -> bool:
    """Whether ``path`` passes through a null list item before its last element."""
    return any(node is None and isinstance(elem, int) for elem, node in _nodes(obj, path[:-1]))


def _is_null(obj: Any, path: tuple[Any, ...]) -> bool:
    """Whether ``path`` names a key that is present with a null value."""
    steps = _nodes(obj, path)
    return len(steps) == len(path) and steps[-1][1] is None


def _null_refused_upstream(obj: dict[str, Any], path: tuple[Any, ...]) -> bool:
    """Whether the strict schema refuses the null at ``path`` by its type."""
    wanted = [str(step) for step in path]
    return any(e.validator == "type" and e.instance is None
               and [str(step) for step in e.absolute_path] == wanted
               for e in upstream_validator(str(obj.get("kind"))).iter_errors(obj))


def _walker_departs(obj: dict[str, Any], error: FieldError) -> bool:
    """An error the walker reports on purpose where the strict schema is silent."""
    # The schema marks quantities only as "string or number"; the API server parses them, so
    # the walker checks the quantity grammar too.
    if "quantities must match the regular expression" in error.message:
        return True
    # format: int32/int64 is an annotation to jsonschema; the API server's decoder rejects
    # numbers that overflow the Go field.
    if "out of range for int" in error.message:
        return True
    # A whole number written as a float too large for any Go integer (1e+21): jsonschema
    # counts it an integer, the decoder refuses it as the walker does.
    steps = _nodes(obj, error.path)
    if error.message.endswith("expected integer, got number") and len(steps) == len(
            error.path) and isinstance(steps[-1][1], float) and steps[-1][1].is_integer():
        return True
    # A required field given as null: the decoder reads the zero value and the API server's
    # own rules reject it (a null workload spec has no selector); the strict schema only
    # asks that the key be present.
    # A null where the strict schema wants a scalar (a string) is refused by both.
    if error.message.endswith(": Required value") and _is_null(obj, error.path):
        return not _null_refused_upstream(obj, error.path)
    # A null list item of a struct type is decoded as the zero struct, whose required fields
    # are then missing; the strict schema lets the null item pass (its items are nullable).
    return _inside_null_item(obj, error.path)


def walker_verdict(obj: dict[str, Any], exceptions: bool = True) -> list[str]:
    """The walker's schema-level problems: kind/apiVersion as check_document, then structure."""
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind not in SUPPORTED_KINDS or api_version != served_version(kind):
        return [f"no matches for kind {kind!r} in version {api_version!r}"]
    obj = copy.deepcopy(obj)  # the walker stores whole floats as ints; the oracle sees floats
    return [
        e.message
        for e in validate_structure(obj, kind)
        if not (exceptions and _walker_departs(obj, e))
    ]


def _upstream_departs(error: jsonschema.ValidationError) -> bool:
    """An error of the strict schema that Kubernetes itself does not raise."""
    # IntOrString and Quantity are oneOf [string|null, integer-or-number|null]: a null
    # matches both branches, so oneOf fails. The decoders read null as unset (zero value).
    if error.validator == "oneOf" and error.instance is None:
        return True
    # An embedded object's kind and apiVersion (a StatefulSet's claim templates): the strict
    # schema pins them, the API server decodes the embedded object without reading them.
    path = list(error.absolute_path)
    if error.validator == "enum" and len(path) > 1 and path[-1] in ("kind", "apiVersion"):
        return True
    # The strict schema's required fields of a status: the API server requires nothing of
    # a body's status (the walker checks none).
    if error.validator == "required" and path[:1] == ["status"]:
        return True
    # A required field given as null (only required fields are not nullable in the strict
    # schema): the walker's own departure above, seen from this side (RBAC's roleRef.kind).
    return error.validator == "type" and error.instance is None


def upstream_verdict(obj: dict[str, Any], source_kind: str, exceptions: bool = True) -> list[str]:
    """jsonschema's problems with the strict schema of the object's kind (else its source's)."""
    kind = obj.get("kind")
    validator = upstream_validator(kind if kind in SUPPORTED_KINDS else source_kind)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(obj)
        if not (exceptions and _upstream_departs(e))
    ]
    # The strict schema does not require kind and apiVersion (an API request's path implies
    # them); in a manifest they select the schema, and kubectl refuses a manifest without them.
    if exceptions and ("kind" not in obj or "apiVersion" not in obj):
        errors.append("kind and apiVersion are required in a manifest")
    return errors


def assert_agree(obj: dict[str, Any], source_kind: str) -> bool:
    """Both say valid or both say invalid; returns whether it was valid."""
    theirs = upstream_verdict(obj, source_kind)
    # The walker's departures excuse errors where the strict schema is silent; where it is
    # not (a null required list is also of the wrong type to it), the walker must object.
    mine = walker_verdict(obj, exceptions=not theirs)
    assert bool(mine) == bool(theirs), (
        f"walker and strict schema disagree on\n{json.dumps(obj, indent=1, default=str)}\n"
        f"walker: {mine or 'valid'}\nstrict schema: {theirs or 'valid'}"
    )
    return not mine


# --- the corpus ------------------------------------------------------------------------------


def _corpus() -> list[tuple[str, dict[str, Any]]]:
    """Every document of tests/data that parses to an object of a kind podctl checks."""
    out: list[tuple[str, dict[str, Any]]] = []
    for folder in ("valid", "invalid"):
        for path in sorted((DATA / folder).iterdir()):
            if path.name == "expected.yaml" or path.stat().st_size > 100_000:
                continue
            for result in read_manifests([str(path)]):
                for doc in result.documents:
                    if isinstance(doc.obj, dict):
                        out.append((f"{folder}/{path.name}#{doc.index}", doc.obj))
    return out


CORPUS = _corpus()
SOURCES = [
    obj for _, obj in CORPUS
    if obj.get("kind") in SUPPORTED_KINDS and obj.get("apiVersion") == served_version(obj["kind"])
]


def test_corpus_size() -> None:
    """The corpus alone brings a hundred manifests to compare."""
    assert len(CORPUS) >= 100
    assert {o["kind"] for o in SOURCES} == set(SUPPORTED_KINDS)


@pytest.mark.parametrize(("name", "obj"), CORPUS, ids=[n for n, _ in CORPUS])
def test_corpus_agrees(name: str, obj: dict[str, Any]) -> None:
    """Every corpus document gets the same schema-level verdict from both."""
    kind = obj.get("kind")
    assert_agree(obj, kind if kind in SUPPORTED_KINDS else "Pod")


# --- generated manifests ---------------------------------------------------------------------

QUANTITIES = ["1", "500m", "1Gi", "128Mi", "2", "0.5", "1e3", 3, 0.25]
MAX_DEPTH = 4


def _strategy(t: Any, depth: int) -> st.SearchStrategy[Any]:
    """A value valid for compact schema type ``t`` (optional fields thin out with depth)."""
    return _cached_strategy(json.dumps(t), depth)


@cache
def _cached_strategy(type_json: str, depth: int) -> st.SearchStrategy[Any]:
    t = json.loads(type_json)
    schema = load_schema()
    if isinstance(t, list):
        inner = _strategy(t[1], depth + 1)
        size = 0 if depth >= MAX_DEPTH else 2
        if t[0] == "array":
            return st.lists(inner, max_size=size)
        return st.dictionaries(st.text("abc./-", min_size=1, max_size=4), inner, max_size=size)
    primitives: dict[str, st.SearchStrategy[Any]] = {
        "string": st.text(max_size=6),
        "int32": st.integers(-(2**31), 2**31 - 1),
        "int64": st.integers(-(2**63), 2**63 - 1),
        "number": st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
        "boolean": st.booleans(),
        "quantity": st.sampled_from(QUANTITIES),
        "int-or-string": st.integers(0, 70_000) | st.text(max_size=6),
        "object": st.just({}) | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        "any": st.just({}),
    }
    if t in primitives:
        return primitives[t]
    definition = schema.definitions[t]
    if "type" in definition:
        return _strategy(definition["type"], depth)
    props: dict[str, Any] = definition.get("properties", {})
    required = {k: _strategy(props[k], depth + 1) for k in definition.get("required", ())}
    optional = sorted(k for k in props if k not in required)
    if depth >= MAX_DEPTH or not optional:
        return st.fixed_dictionaries(required)
    # Near the root every struct brings at least one optional field, so the generated
    # manifests reach deep into the schema instead of shrinking to the required minimum.
    picks = st.lists(st.sampled_from(optional), min_size=int(depth < 3), max_size=3, unique=True)
    return picks.flatmap(
        lambda keys: st.fixed_dictionaries(
            {**required, **{k: _strategy(props[k], depth + 1) for k in keys}}
        )
    )


def manifests() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """A manifest of a supported kind, valid for the walker's schema (from its definitions)."""
    kinds = load_schema().kinds

    def build(kind: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        body = _strategy(kinds[kind], 0)
        return body.map(
            lambda obj: (kind, {**obj, "apiVersion": served_version(kind), "kind": kind}))

    return st.sampled_from(SUPPORTED_KINDS).flatmap(build)


def test_generated_manifests_agree() -> None:
    """Schema-generated manifests: valid for both, every one."""
    seen: list[bool] = []

    @SETTINGS
    @given(manifests())
    def run(case: tuple[str, dict[str, Any]]) -> None:
        kind, obj = case
        seen.append(assert_agree(obj, kind))

    run()
    assert len(seen) >= 250
    assert all(seen)


# --- mutations -------------------------------------------------------------------------------


def typed_paths(
    value: Any, t: Any, path: tuple[Any, ...] = ()
) -> list[tuple[tuple[Any, ...], str]]:
    """(path, type family) of every node of ``value``, read along compact schema type ``t``."""
    schema = load_schema()
    while isinstance(t, str) and "type" in schema.definitions.get(t, {}):
        t = schema.definitions[t]["type"]
    family = t[0] if isinstance(t, list) else t if t in TRICKY else "struct"
    out: list[tuple[tuple[Any, ...], str]] = [(path, family)]
    if isinstance(t, list) and isinstance(value, list | dict):
        items = enumerate(value) if isinstance(value, list) else value.items()
        for key, child in items:
            out.extend(typed_paths(child, t[1], (*path, key)))
    elif family == "struct" and isinstance(value, dict):
        props = schema.definitions.get(t, {}).get("properties", {})
        for key, child in value.items():
            if key in props:
                out.extend(typed_paths(child, props[key], (*path, key)))
    return out


# Values that sit on the edge of each type family: right-looking but wrong, or wrong-looking
# but right (whole floats, numbers as quantities, nulls).
TRICKY: dict[str, list[Any]] = {
    "string": [1, True, 1.5, None, [], {}, "", "80"],
    "int32": [80.0, 80.5, "80", True, None, -1, 2**31, [], 1e21],
    "int64": [30.0, 0.5, "30", False, None, 2**63, {}],
    "number": [1, 0.5, "1", True, None],
    "boolean": ["true", "false", 1, 0, None, "yes"],
    "quantity": ["1Gi", "500m", "lots", "1.5", 2, 0.5, True, None, [], {}],
    "int-or-string": [8080.0, 80, "http", 80.5, True, None, [], {}],
    "object": [{}, {"a": 1}, [], "x", None],
    "any": [{}, [], "x", 1, None],
    "array": [[], [None], {}, "x", None, 0],
    "map": [{}, {"k": None}, {"k": 1}, {"k": "v"}, [], "x", None],
    "struct": [{}, {"bogus": 1}, [], [{}], "x", None, 1],
}
ENUMS = st.sampled_from(
    [("kind", "Service"), ("kind", "pod"), ("apiVersion", "v2"), ("apiVersion", "apps/v1")]
    + [("kind", k) for k in SUPPORTED_KINDS]
    + [("kind", None), ("apiVersion", None)]
)
NAMES = st.sampled_from(["image", "Image", "contianers", "x", "spec", "-name", "status"])


def _set(obj: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Replace (or, with the _DELETE marker, remove) the node at ``path``."""
    parent: Any = obj
    for elem in path[:-1]:
        parent = parent[elem]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


_DELETE = object()


@st.composite
def mutated(draw: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    """A corpus or generated manifest with one to three mutations.

    Each mutation puts an edge value of some type family where a node of the schema is, adds
    an unknown field to a mapping, deletes a field (often a required one) or changes
    kind/apiVersion (the only enums of the strict schema).
    """
    kind, obj = draw(st.sampled_from(SOURCES).map(lambda o: (o["kind"], o)) | manifests())
    obj = copy.deepcopy(obj)
    for _ in range(draw(st.integers(1, 3))):
        nodes = [n for n in typed_paths(obj, load_schema().kinds[kind]) if n[0]]
        action = draw(st.sampled_from(["retype", "retype", "unknown", "delete", "enum"]))
        path, family = nodes[draw(st.integers(0, len(nodes) - 1))] if nodes else ((), "")
        if action == "enum" or not path:
            field, value = draw(ENUMS)
            obj[field] = value
        elif action == "retype":
            # mostly an edge value of the node's own family, sometimes another family's
            want = draw(st.just(family) | st.sampled_from(sorted(TRICKY)))
            _set(obj, path, copy.deepcopy(draw(st.sampled_from(TRICKY[want]))))
        elif action == "delete":
            _set(obj, path, _DELETE)
        else:
            holder = [p for p, f in nodes if f in ("struct", "map")] or [()]
            target: Any = obj
            for elem in holder[draw(st.integers(0, len(holder) - 1))]:
                target = target[elem]
            if isinstance(target, dict):
                target[draw(NAMES)] = draw(st.sampled_from(TRICKY["string"]))
    return kind, obj


def test_mutated_manifests_agree() -> None:
    """Mutations of corpus and generated manifests: same verdict, and most are invalid."""
    seen: list[bool] = []

    @SETTINGS
    @given(mutated())
    def run(case: tuple[str, dict[str, Any]]) -> None:
        kind, obj = case
        seen.append(assert_agree(obj, kind))

    run()
    assert len(seen) >= 250
    assert seen.count(False) > len(seen) // 2


# --- the departures, each shown on one manifest ----------------------------------------------


def _pod(**container: Any) -> dict[str, Any]:
    ctr = {"name": "c", "image": "busybox", **container}
    spec = {"containers": [ctr]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


DEPARTURES: list[tuple[str, dict[str, Any], bool, bool]] = [
    # (why, manifest, walker says valid, strict schema says valid) — before the exceptions
    ("quantity grammar", _pod(resources={"limits": {"cpu": "lots"}}), False, True),
    ("int32 overflow", _pod(ports=[{"containerPort": 2**31}]), False, True),
    ("null struct item", {**_pod(), "spec": {"containers": [None]}}, False, True),
    ("null quantity", _pod(resources={"limits": {"cpu": None}}), True, False),
    ("no kind", {"apiVersion": "v1", "metadata": {"name": "n"}}, False, True),
    ("null required spec", {"apiVersion": "apps/v1", "kind": "ReplicaSet", "spec": None},
     False, True),
]


@pytest.mark.parametrize(
    ("why", "obj", "walker_ok", "upstream_ok"), DEPARTURES, ids=[d[0] for d in DEPARTURES]
)
def test_departures_are_real_and_excepted(
    why: str, obj: dict[str, Any], walker_ok: bool, upstream_ok: bool
) -> None:
    """Each exception covers a disagreement that exists without it."""
    raw = (not walker_verdict(obj, False), not upstream_verdict(obj, "Namespace", False))
    assert raw == (walker_ok, upstream_ok), why
    assert_agree(obj, "Namespace")


def test_whole_floats_are_integers_to_both() -> None:
    """80.0 is an integer to the strict schema, and to the walker (kubectl sends it as 80)."""
    obj = _pod(ports=[{"containerPort": 80.0}], readinessProbe={"tcpSocket": {"port": 80.0}})
    assert not upstream_verdict(obj, "Pod")
    assert assert_agree(obj, "Pod")
    assert not validate_structure(obj, "Pod")
    ctr = obj["spec"]["containers"][0]
    assert type(ctr["ports"][0]["containerPort"]) is int
    assert type(ctr["readinessProbe"]["tcpSocket"]["port"]) is int
