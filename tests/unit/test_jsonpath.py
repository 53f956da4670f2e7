"""kubectl JSONPath templates (client-go util/jsonpath), checked against kubectl 1.32 output."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podctl.printers.jsonpath import JSONPathError, parse_template, render


def pod(name: str, app: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"app": app, "app.kubernetes.io/name": app + "-x"}},
        "spec": {
            "containers": [
                {"name": "c1", "image": "i1", "ports": [{"containerPort": 8080}]},
                {"name": "c2", "image": "i2"},
            ]
        },
        "status": {"phase": "Running", **status},
    }


POD = pod("kubia", "kubia", ratio=1.5, big=1000000.5, ok=True, nil=None, empty=[])
LIST = {"kind": "List", "items": [pod("kubia", "kubia"), pod("other", "web", restarts=3)]}


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ("{.metadata.name}", "kubia"),
        ("{$.metadata.name}", "kubia"),
        ("{@.metadata.name}", "kubia"),
        ("{ .metadata.name }", "kubia"),
        ("name={.metadata.name}!", "name=kubia!"),
        ("plain text", "plain text"),
        ("{.metadata.name}{.status.phase}", "kubiaRunning"),
    ],
)
def test_render_follows_simple_paths(template: str, output: str) -> None:
    assert render(template, POD) == output


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ("{.items[*].metadata.name}", "kubia other"),
        ("{.items[0].metadata.name}", "kubia"),
        ("{.items[-1].metadata.name}", "other"),
        ("{.items[0:1].metadata.name}", "kubia"),
        ("{.items[0:2].metadata.name}", "kubia other"),
        ("{.items[::2].metadata.name}", "kubia"),
        ("{.items[:].metadata.name}", "kubia other"),
        ("{.items[0,1].metadata.name}", "kubia other"),
        ("{.items[*].spec.containers[*].name}", "c1 c2 c1 c2"),
    ],
)
def test_render_indexes_and_slices_lists(template: str, output: str) -> None:
    assert render(template, LIST) == output


def test_render_reads_keys_with_escaped_dots() -> None:
    template = r"{.items[*].metadata.labels.app\.kubernetes\.io/name}"
    assert render(template, LIST) == "kubia-x web-x"


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ("{.metadata['name']}", "kubia"),
        ("{['metadata']['labels']['app']}", "kubia"),
        (
            "{.metadata['name','labels']}",
            'kubia {"app":"kubia","app.kubernetes.io/name":"kubia-x"}',
        ),
    ],
)
def test_render_reads_bracketed_keys(template: str, output: str) -> None:
    assert render(template, POD) == output


def test_render_splits_bracketed_keys_on_dots_like_kubectl() -> None:
    assert render("{.metadata.labels['app.kubernetes.io/name']}", POD) == ""


def test_render_recursive_descent_finds_nested_keys() -> None:
    assert render("{..name}", LIST) == "kubia c1 c2 other c1 c2"


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ("{.metadata.labels.*}", "kubia kubia-x"),
        ("{.spec.containers[1].*}", "c2 i2"),
    ],
)
def test_render_wildcard_yields_every_child(template: str, output: str) -> None:
    assert render(template, POD) == output


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ('{.items[?(@.metadata.name=="kubia")].status.phase}', "Running"),
        ("{.items[?(@.metadata.name=='other')].metadata.labels.app}", "web"),
        ('{.items[?(@.metadata.name!="kubia")].metadata.name}', "other"),
        ('{.items[?(@.metadata.name<"l")].metadata.name}', "kubia"),
        ('{.items[?(@.metadata.name>"l")].metadata.name}', "other"),
        ('{.items[?(@.metadata.name<="kubia")].metadata.name}', "kubia"),
        ('{.items[?(@.metadata.name>="kubia")].metadata.name}', "kubia other"),
        ("{.items[?(@.status.restarts)].metadata.name}", "other"),
        ("{.items[?(@.status.restarts>=3)].metadata.name}", "other"),
        ("{.items[?(@.status.restarts<3)].metadata.name}", ""),
        ("{.items[*].spec.containers[?(@.ports)].name}", "c1 c1"),
    ],
)
def test_render_filters_list_items(template: str, output: str) -> None:
    assert render(template, LIST) == output


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.items[?(@.status.restarts==3.0)]}", "incompatible types for comparison"),
        ('{.items[?(@.status.restarts=="3")]}', "incompatible types for comparison"),
        ("{.items[?(@.metadata<1)]}", "invalid type for comparison"),
        ("{.items[?(@.metadata.name=1)]}", "unrecognized filter operator ="),
        ("{.kind[?(@.x)]}", "List is not array or slice and cannot be filtered"),
    ],
)
def test_render_filter_errors_match_client_go(template: str, message: str) -> None:
    with pytest.raises(JSONPathError) as info:
        render(template, LIST)
    assert str(info.value) == message


def test_render_range_repeats_body_per_item() -> None:
    template = '{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}'
    assert render(template, LIST) == "kubia\tRunning\nother\tRunning\n"


def test_render_nested_ranges() -> None:
    template = "{range .items[*]}{.metadata.name}:{range .spec.containers[*]}[{.name}]{end};{end}"
    assert render(template, LIST) == "kubia:[c1][c2];other:[c1][c2];"


def test_render_range_over_empty_list_prints_nothing_then_continues() -> None:
    assert render("{range .status.empty[*]}{.x}{end}after", POD) == "after"


def test_render_end_without_range_is_an_error() -> None:
    with pytest.raises(JSONPathError, match=r"^not in range, nothing to end$"):
        render("{end}", POD)


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ('{"\\n"}', "\n"),
        ("{'\\t'}", "\t"),
        ("{'it\\'s'}", "it's"),
        ('{"q\\"q"}', 'q"q'),
        ('{"\\u00e9\\x41\\101"}', "éAA"),
        ('{"{"}{"}"}', "{}"),
    ],
)
def test_render_string_literals_unescape_like_go(template: str, output: str) -> None:
    assert render(template, POD) == output


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ("{.status.phase}", "Running"),
        ("{.spec.containers[0].ports[0].containerPort}", "8080"),
        ("{.status.ratio}", "1.5"),
        ("{.status.big}", "1.0000005e+06"),
        ("{.status.ok}", "true"),
        ("{.status.nil}", "null"),
        ("{.status.empty}", "[]"),
        ("{1}", "1"),
        ("{2.0}", "2"),
        ("{false}", "false"),
    ],
)
def test_render_prints_scalars_like_go_fmt(template: str, output: str) -> None:
    assert render(template, POD) == output


def test_render_prints_maps_and_lists_as_compact_sorted_json() -> None:
    data = {"m": {"b": [1, 2.5, None, True], "a": "<&>"}}
    assert render("{.m}", data) == '{"a":"\\u003c\\u0026\\u003e","b":[1,2.5,null,true]}'


@pytest.mark.parametrize(
    ("number", "text", "json_text"),
    [
        (1e6, "1e+06", "1000000"),
        (123456.0, "123456", "123456"),
        (1e-5, "1e-05", "0.00001"),
        (1e-7, "1e-07", "1e-7"),
        (1e21, "1e+21", "1e+21"),
        (0.0001, "0.0001", "0.0001"),
        (-0.0, "-0", "-0"),
    ],
)
def test_render_formats_floats_like_go(number: float, text: str, json_text: str) -> None:
    assert render("{.n}", {"n": number}) == text
    assert render("{.l}", {"l": [number]}) == f"[{json_text}]"


def test_render_current_object_prints_whole_document() -> None:
    assert render("{@}", {"b": 1, "a": [True]}) == '{"a":[true],"b":1}'


def test_render_skips_missing_keys_by_default() -> None:
    assert render("{.missing}x{.items[*].status.restarts}", LIST) == "x3"


def test_render_missing_key_errors_when_missing_keys_are_not_allowed() -> None:
    with pytest.raises(JSONPathError, match=r"^missing is not found$"):
        render("{.missing}", LIST, allow_missing=False)


def test_render_missing_key_in_some_items_is_not_an_error() -> None:
    assert render("{.items[*].status.restarts}", LIST, allow_missing=False) == "3"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.items[5]}", "array index out of bounds: index 5, length 2"),
        ("{.items[-3]}", "array index out of bounds: index -1, length 2"),
        ("{.items[0:5]}", "array index out of bounds: index 4, length 2"),
        ("{.items[::0]}", "step must be > 0"),
        ("{.kind[0]}", "string is not array or slice"),
        ("{foo}", "unrecognized identifier foo"),
    ],
)
def test_render_execution_errors_match_client_go(template: str, message: str) -> None:
    with pytest.raises(JSONPathError) as info:
        render(template, LIST)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.a", "unclosed action"),
        ("{.a\n}", "unclosed action"),
        ("{.a[}", "unterminated array"),
        ("{.a[x]}", "invalid array index x"),
        ("{.a[-]}", "array index - is not a number"),
        ("{#}", "unrecognized character in action: U+0023 '#'"),
        ("{....a}", "invalid multiple recursive descent"),
        ("{1.2.3}", "cannot parse number 1.2.3"),
        ('{"abc}', "unterminated quoted string"),
        ('{"\\q"}', 'unquote string "\\q" error invalid syntax'),
        ('{.a[?(@.b=="c")}', "unclosed array expect ]"),
        ('{.a[?(@.b=="c"}', "unterminated filter"),
    ],
)
def test_parse_template_reports_syntax_errors(template: str, message: str) -> None:
    with pytest.raises(JSONPathError) as info:
        parse_template(template)
    assert str(info.value) == message


def test_parsed_template_renders_many_objects() -> None:
    template = parse_template("{.metadata.name}")
    assert [template.execute(item) for item in LIST["items"]] == ["kubia", "other"]


def test_jsonpath_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        render("{.a", {})


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.text(max_size=30), _JSON)
def test_render_raises_only_jsonpath_error_for_any_template(template: str, data: Any) -> None:
    with contextlib.suppress(JSONPathError):
        render(template, data)


def _numbers_as_floats(value: Any) -> Any:
    # Go prints whole floats without a decimal point, so JSON reads them back as ints.
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_as_floats(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


@given(st.dictionaries(st.text(max_size=6), _JSON, max_size=4))
def test_render_current_object_is_valid_json_of_the_data(data: dict[str, Any]) -> None:
    parsed = json.loads(render("{@}", data))
    assert _numbers_as_floats(parsed) == _numbers_as_floats(data)


@given(st.text(max_size=20))
def test_render_prints_string_values_verbatim(value: str) -> None:
    assert render("{.v}", {"v": value}) == value
