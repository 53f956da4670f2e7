"""Label selectors, label formatting and validation (apimachinery pkg/labels semantics)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podctl.api.labels import (
    DOES_NOT_EXIST,
    DOUBLE_EQUALS,
    EQUALS,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_EQUALS,
    NOT_IN,
    LabelSpecError,
    Requirement,
    Selector,
    SelectorError,
    format_label_selector,
    format_labels,
    format_selector_map,
    parse_label_args,
    parse_selector,
    selector_from_label_selector,
    selector_from_map,
    validate_label_key,
    validate_label_value,
)

NAME_REGEX_ERROR = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
PREFIX_REGEX_ERROR = (
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
VALUE_REGEX_ERROR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
QUALIFIED_NAME_ERROR = (
    "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
    "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') "
    "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
)


def req(key: str, operator: str, *values: str) -> Requirement:
    return Requirement(key, operator, values)


# --- parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app=kubia", (req("app", EQUALS, "kubia"),)),
        ("app==kubia", (req("app", DOUBLE_EQUALS, "kubia"),)),
        ("app!=kubia", (req("app", NOT_EQUALS, "kubia"),)),
        ("env in (prod,dev)", (req("env", IN, "dev", "prod"),)),
        ("env notin (a, b)", (req("env", NOT_IN, "a", "b"),)),
        ("gone", (req("gone", EXISTS),)),
        ("!gone", (req("gone", DOES_NOT_EXIST),)),
        ("n>5", (req("n", GREATER_THAN, "5"),)),
        ("n<5", (req("n", LESS_THAN, "5"),)),
        ("app=", (req("app", EQUALS, ""),)),
        ("env in ()", (req("env", IN, ""),)),
        ("x in (foo,,baz)", (req("x", IN, "", "baz", "foo"),)),
        ("x in (b,a,b)", (req("x", IN, "a", "b"),)),
        ("example.com/tier=web", (req("example.com/tier", EQUALS, "web"),)),
        ("in=notin", (req("in", EQUALS, "notin"),)),
        ("in in (in,notin)", (req("in", IN, "in", "notin"),)),
    ],
)
def test_parse_selector_reads_each_requirement_form(
    text: str, expected: tuple[Requirement, ...]
) -> None:
    assert parse_selector(text).requirements == expected


def test_parse_selector_sorts_requirements_by_key() -> None:
    selector = parse_selector("z=1,a=2,m")
    assert [r.key for r in selector.requirements] == ["a", "m", "z"]


def test_parse_selector_tolerates_whitespace_around_tokens() -> None:
    assert parse_selector(" a = b ,\tc != d ") == parse_selector("a=b,c!=d")


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_parse_selector_of_blank_text_is_empty(text: str) -> None:
    assert parse_selector(text).is_empty()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a notin", "unable to parse requirement: found '' expected: '('"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        (
            "a b",
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("a,", "found '', expected: identifier after ','"),
        ("a=b=c", "found '=', expected: ',' or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        (
            "env>qa",
            'unable to parse requirement: values[0]: Invalid value: "qa": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "a=demo-{nginx}",
            f'unable to parse requirement: values[0][a]: Invalid value: "demo-{{nginx}}": '
            f"{VALUE_REGEX_ERROR}",
        ),
        (
            "app:monolith",
            f'unable to parse requirement: <nil>: Invalid value: "app:monolith": '
            f"{NAME_REGEX_ERROR}",
        ),
        (
            "A/B/C",
            f'unable to parse requirement: <nil>: Invalid value: "A/B/C": {QUALIFIED_NAME_ERROR}',
        ),
        (
            "a/",
            'unable to parse requirement: <nil>: Invalid value: "a/": '
            f"name part must be non-empty; {NAME_REGEX_ERROR}",
        ),
    ],
)
def test_parse_selector_reports_apimachinery_messages(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_selector(text)
    assert str(info.value) == message


def test_parse_selector_aggregates_several_bad_values_in_brackets() -> None:
    with pytest.raises(SelectorError) as info:
        parse_selector("a in (ok,-bad,_bad2)")
    assert str(info.value) == (
        "unable to parse requirement: ["
        f'values[0][a]: Invalid value: "-bad": {VALUE_REGEX_ERROR}, '
        f'values[1][a]: Invalid value: "_bad2": {VALUE_REGEX_ERROR}]'
    )


def test_selector_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_selector("a in b")


# --- matching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requirement", "labels", "expected"),
    [
        (req("app", EQUALS, "kubia"), {"app": "kubia"}, True),
        (req("app", EQUALS, "kubia"), {"app": "other"}, False),
        (req("app", EQUALS, "kubia"), {}, False),
        (req("app", DOUBLE_EQUALS, "kubia"), {"app": "kubia"}, True),
        (req("app", NOT_EQUALS, "kubia"), {"app": "other"}, True),
        (req("app", NOT_EQUALS, "kubia"), {"app": "kubia"}, False),
        (req("app", NOT_EQUALS, "kubia"), {}, True),
        (req("env", IN, "dev", "prod"), {"env": "prod"}, True),
        (req("env", IN, "dev", "prod"), {"env": "qa"}, False),
        (req("env", IN, "dev", "prod"), {}, False),
        (req("env", NOT_IN, "dev", "prod"), {"env": "qa"}, True),
        (req("env", NOT_IN, "dev", "prod"), {"env": "dev"}, False),
        (req("env", NOT_IN, "dev", "prod"), {}, True),
        (req("gone", EXISTS), {"gone": ""}, True),
        (req("gone", EXISTS), {}, False),
        (req("gone", DOES_NOT_EXIST), {}, True),
        (req("gone", DOES_NOT_EXIST), {"gone": "x"}, False),
        (req("n", GREATER_THAN, "5"), {"n": "6"}, True),
        (req("n", GREATER_THAN, "5"), {"n": "5"}, False),
        (req("n", GREATER_THAN, "5"), {"n": "six"}, False),
        (req("n", LESS_THAN, "5"), {"n": "-1"}, True),
        (req("n", LESS_THAN, "5"), {}, False),
    ],
)
def test_requirement_matches_like_apimachinery(
    requirement: Requirement, labels: dict[str, str], expected: bool
) -> None:
    assert requirement.matches(labels) is expected


def test_requirement_rejects_unknown_operator() -> None:
    with pytest.raises(ValueError):
        Requirement("a", "~", ("b",))


def test_selector_matches_only_when_every_requirement_matches() -> None:
    selector = parse_selector("app=kubia,env in (dev,prod),!gone")
    assert selector.matches({"app": "kubia", "env": "dev"})
    assert not selector.matches({"app": "kubia", "env": "dev", "gone": "1"})
    assert not selector.matches({"app": "kubia"})


def test_empty_selector_matches_everything() -> None:
    assert Selector().matches({"any": "thing"})
    assert Selector().matches(None)


def test_selector_is_empty_only_without_requirements() -> None:
    assert Selector().is_empty()
    assert not parse_selector("a").is_empty()


# --- rendering -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("app=kubia,env in (prod,dev),!gone", "app=kubia,env in (dev,prod),!gone"),
        ("a==b", "a==b"),
        ("a!=b", "a!=b"),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
        ("n>5,m<3", "m<3,n>5"),
        ("a=", "a="),
    ],
)
def test_selector_str_renders_like_apimachinery(text: str, rendered: str) -> None:
    assert str(parse_selector(text)) == rendered


def test_requirement_str_sorts_multiple_values() -> None:
    assert str(req("env", NOT_IN, "prod", "dev")) == "env notin (dev,prod)"


def test_selector_from_map_builds_sorted_equality_requirements() -> None:
    selector = selector_from_map({"env": "prod", "app": "kubia"})
    assert str(selector) == "app=kubia,env=prod"
    assert selector.matches({"app": "kubia", "env": "prod", "extra": "x"})
    assert not selector.matches({"app": "kubia"})


def test_selector_from_empty_map_matches_everything() -> None:
    assert selector_from_map({}).is_empty()
    assert selector_from_map(None).is_empty()


@pytest.mark.parametrize(
    ("labels", "text"),
    [
        ({"b": "2", "a": "1"}, "a=1,b=2"),
        ({"app": ""}, "app="),
        ({}, "<none>"),
        (None, "<none>"),
    ],
)
def test_format_labels_is_sorted_or_none(labels: dict[str, str] | None, text: str) -> None:
    assert format_labels(labels) == text


@pytest.mark.parametrize(
    ("selector", "text"),
    [({"env": "prod", "app": "kubia"}, "app=kubia,env=prod"), ({}, "<none>")],
)
def test_format_selector_map_is_sorted_or_none(selector: dict[str, str], text: str) -> None:
    assert format_selector_map(selector) == text


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["app", "a", "app.kubernetes.io/name", "A_b-C.d", "1", "example.com/x", "x" * 63]
)
def test_validate_label_key_accepts_qualified_names(key: str) -> None:
    assert validate_label_key(key) == []


@pytest.mark.parametrize(
    ("key", "errors"),
    [
        ("-app", [NAME_REGEX_ERROR]),
        ("", ["name part must be non-empty", NAME_REGEX_ERROR]),
        ("x" * 64, ["name part must be no more than 63 characters"]),
        ("/a", ["prefix part must be non-empty"]),
        ("Example.com/a", [PREFIX_REGEX_ERROR]),
        ("a/b/c", [QUALIFIED_NAME_ERROR]),
        (
            "A" * 254 + "/b",
            ["prefix part must be no more than 253 characters", PREFIX_REGEX_ERROR],
        ),
    ],
)
def test_validate_label_key_returns_apimachinery_details(key: str, errors: list[str]) -> None:
    assert validate_label_key(key) == errors


@pytest.mark.parametrize("value", ["", "kubia", "My_value.1", "x" * 63])
def test_validate_label_value_accepts_valid_values(value: str) -> None:
    assert validate_label_value(value) == []


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("-x", [VALUE_REGEX_ERROR]),
        ("a b", [VALUE_REGEX_ERROR]),
        ("x" * 64, ["must be no more than 63 characters"]),
        ("-" * 64, ["must be no more than 63 characters", VALUE_REGEX_ERROR]),
    ],
)
def test_validate_label_value_returns_apimachinery_details(value: str, errors: list[str]) -> None:
    assert validate_label_value(value) == errors


def test_validate_label_value_counts_utf8_bytes_like_go() -> None:
    assert "must be no more than 63 characters" in validate_label_value("é" * 32)


# --- kubectl label arguments ------------------------------------------------------------


def test_parse_label_args_splits_sets_and_removals() -> None:
    assert parse_label_args(["app=kubia", "env=", "gone-"]) == (
        {"app": "kubia", "env": ""},
        ["gone"],
    )


def test_parse_label_args_last_assignment_wins() -> None:
    assert parse_label_args(["a=1", "a=2"]) == ({"a": "2"}, [])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a=b=c"], "invalid label spec: a=b=c"),
        (["a=b-"], f'invalid label value: "a=b-": {VALUE_REGEX_ERROR}'),
        (["abc"], "unknown label spec: abc"),
        (["a=b", "a-"], "can not both modify and remove a label in the same command"),
    ],
)
def test_parse_label_args_reports_kubectl_messages(args: list[str], message: str) -> None:
    with pytest.raises(LabelSpecError) as info:
        parse_label_args(args)
    assert str(info.value) == message


# --- properties ------------------------------------------------------------------------

_NAMES = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?", fullmatch=True)
_DNS_LABELS = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?", fullmatch=True)
_PREFIXES = st.lists(_DNS_LABELS, min_size=1, max_size=3).map(".".join)
_KEYS = st.one_of(_NAMES, st.builds(lambda p, n: f"{p}/{n}", _PREFIXES, _NAMES))
_VALUES = st.one_of(st.just(""), _NAMES)


def _requirements(key: str) -> st.SearchStrategy[Requirement]:
    single = st.builds(
        lambda op, v: Requirement(key, op, (v,)),
        st.sampled_from([EQUALS, DOUBLE_EQUALS, NOT_EQUALS]),
        _VALUES,
    )
    sets = st.builds(
        lambda op, vs: Requirement(key, op, tuple(sorted(vs))),
        st.sampled_from([IN, NOT_IN]),
        st.sets(_VALUES, min_size=1, max_size=4),
    )
    unary = st.sampled_from([EXISTS, DOES_NOT_EXIST]).map(lambda op: Requirement(key, op))
    numeric = st.builds(
        lambda op, n: Requirement(key, op, (str(n),)),
        st.sampled_from([GREATER_THAN, LESS_THAN]),
        st.integers(min_value=0, max_value=2**63 - 1),
    )
    return st.one_of(single, sets, unary, numeric)


_SELECTORS = st.lists(_KEYS.flatmap(_requirements), max_size=5).map(
    lambda reqs: Selector(tuple(sorted(reqs, key=lambda r: r.key)))
)


@given(_SELECTORS)
def test_parse_selector_round_trips_its_string_form(selector: Selector) -> None:
    assert parse_selector(str(selector)) == selector


@given(st.text(max_size=40))
def test_parse_selector_raises_only_selector_error(text: str) -> None:
    with contextlib.suppress(SelectorError):
        parse_selector(text)


# --- apps/v1 LabelSelector --------------------------------------------------------------

WEB = {"matchLabels": {"app": "web"},
       "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                            {"key": "env", "operator": "Exists"},
                            {"key": "canary", "operator": "DoesNotExist"},
                            {"key": "zone", "operator": "NotIn", "values": ["c"]}]}


@pytest.mark.parametrize(("labels", "selected"), [
    ({"app": "web", "tier": "a", "env": "prod"}, True),
    ({"app": "web", "tier": "b", "env": "", "zone": "d"}, True),
    ({"app": "web", "tier": "c", "env": "prod"}, False),  # tier not in (a,b)
    ({"app": "web", "tier": "a"}, False),  # env missing
    ({"app": "web", "tier": "a", "env": "x", "canary": "1"}, False),  # canary present
    ({"app": "web", "tier": "a", "env": "x", "zone": "c"}, False),  # zone in (c)
    ({"app": "db", "tier": "a", "env": "x"}, False),  # matchLabels
])
def test_label_selector_needs_every_requirement(labels: dict[str, str], selected: bool) -> None:
    assert selector_from_label_selector(WEB).matches(labels) is selected


def test_label_selector_formats_sorted_by_key_in_set_syntax() -> None:
    assert format_label_selector(WEB) == "app=web,!canary,env,tier in (a,b),zone notin (c)"
    one = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]}
    assert format_label_selector(one) == "tier in (a)"
    assert format_label_selector({"matchLabels": {"b": "2", "a": "1"}}) == "a=1,b=2"


@pytest.mark.parametrize("empty", [None, {}, {"matchLabels": {}, "matchExpressions": []}])
def test_empty_label_selector_formats_as_none_and_selects_all(
        empty: dict[str, object] | None) -> None:
    assert format_label_selector(empty) == "<none>"
    assert selector_from_label_selector(empty).matches({"x": "y"})
