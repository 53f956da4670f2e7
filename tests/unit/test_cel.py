"""podctl.api.cel: x-kubernetes-validations as the apiextensions API server checks them —
self and oldSelf, transition rules, messages, messageExpression, reason, fieldPath, the
root's view, ratcheting — in upstream's words."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from podctl.api import cel


def rule(text: str, **extra: Any) -> dict[str, Any]:
    return {"rule": text, **extra}


def crd_schema(spec_rules: list[dict[str, Any]], **spec_properties: Any) -> dict[str, Any]:
    """The CronTab-like schema of the upstream docs' examples."""
    properties = {
        "replicas": {"type": "integer"}, "minReplicas": {"type": "integer"},
        "maxReplicas": {"type": "integer"}, "image": {"type": "string"},
        **spec_properties,
    }
    return {"type": "object", "properties": {"spec": {
        "type": "object", "properties": properties, "x-kubernetes-validations": spec_rules}}}


def crontab(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "my-new-cron-object", "namespace": "default", "uid": "u"},
            "spec": {"replicas": 2, "minReplicas": 1, "maxReplicas": 3, **spec}}


RANGE = rule("self.minReplicas <= self.replicas && self.replicas <= self.maxReplicas",
             message="replicas should be in the range minReplicas..maxReplicas.")


def test_a_true_rule_passes_and_a_false_one_is_invalid_in_upstreams_words() -> None:
    schema = crd_schema([RANGE])
    assert cel.validate(schema, crontab()).errors == []
    assert cel.validate(schema, crontab(replicas=5)).errors == [
        ("spec", 'Invalid value: "object": replicas should be in the range '
                 "minReplicas..maxReplicas.")]


def test_without_a_message_the_rule_is_named() -> None:
    schema = crd_schema([rule("  self.replicas < 3 ")])
    assert cel.validate(schema, crontab(replicas=4)).errors == [
        ("spec", 'Invalid value: "object": failed rule: self.replicas < 3')]


def test_message_expression_and_its_fallbacks() -> None:
    by_expression = rule("self.replicas < 3", message="too many",
                         messageExpression="'replicas ' + string(self.replicas) + ' > 2'")
    assert cel.validate(crd_schema([by_expression]), crontab(replicas=4)).errors == [
        ("spec", 'Invalid value: "object": replicas 4 > 2')]
    # Not a string, empty, several lines, or failing: the message stands instead.
    for expression in ("1", "''", "'a\\nb'", "self.nosuch"):
        fallback = rule("self.replicas < 3", message="too many",
                        messageExpression=expression)
        assert cel.validate(crd_schema([fallback]), crontab(replicas=4)).errors == [
            ("spec", 'Invalid value: "object": too many')], expression


@pytest.mark.parametrize(("reason", "message"), [
    ("FieldValueForbidden", "Forbidden: no"),
    ("FieldValueRequired", "Required value: no"),
    ("FieldValueDuplicate", 'Duplicate value: "object"'),
    ("FieldValueInvalid", 'Invalid value: "object": no'),
])
def test_reason(reason: str, message: str) -> None:
    schema = crd_schema([rule("false", message="no", reason=reason)])
    assert cel.validate(schema, crontab()).errors == [("spec", message)]


def test_field_path_moves_the_error_under_the_node() -> None:
    schema = crd_schema([rule("self.replicas < 3", message="no", fieldPath=".replicas"),
                         rule("false", message="key", fieldPath=".labels['a.b']")],
                        labels={"type": "object",
                                "additionalProperties": {"type": "string"}})
    assert cel.validate(schema, crontab(replicas=4, labels={"a.b": "c"})).errors == [
        ("spec.replicas", 'Invalid value: "object": no'),
        ("spec.labels[a.b]", 'Invalid value: "object": key')]


def test_transition_rules_run_only_on_an_update_with_an_old_value() -> None:
    immutable = {"type": "string",
                 "x-kubernetes-validations": [rule("self == oldSelf",
                                                   message="Value is immutable")]}
    schema = crd_schema([rule("self.replicas >= oldSelf.replicas",
                              message="replicas cannot shrink")], image=immutable)
    created = crontab(replicas=3, image="a")
    assert cel.validate(schema, created).errors == []
    shrunk = crontab(replicas=1, image="b")
    assert cel.validate(schema, shrunk, created).errors == [
        ("spec", 'Invalid value: "object": replicas cannot shrink'),
        ("spec.image", 'Invalid value: "string": Value is immutable')]
    # The image newly set on an update has no old value: its transition rule is skipped.
    assert cel.validate(schema, crontab(replicas=3, image="b"),
                        crontab(replicas=3)).errors == []


def test_ratcheting_an_unchanged_node_only_warns() -> None:
    schema = crd_schema([RANGE])
    stored = crontab(replicas=5)  # stored before the rule was added to the CRD
    relabelled = copy.deepcopy(stored)
    relabelled["metadata"]["labels"] = {"a": "b"}
    result = cel.validate(schema, relabelled, stored)
    assert result.errors == []
    assert result.warnings == ['spec: Invalid value: "object": replicas should be in the '
                               "range minReplicas..maxReplicas."]
    assert cel.validate(schema, crontab(replicas=6), stored).errors != []


def test_the_root_sees_only_the_name_of_its_metadata() -> None:
    schema = {"type": "object", "x-kubernetes-validations": [
        rule("self.metadata.name.startsWith('my-') && self.kind == 'CronTab'"),
        rule("has(self.metadata.uid)", message="uid is not for rules"),
        rule("self.metadata.namespace == 'default'")]}
    assert cel.validate(schema, crontab()).errors == [
        ("<nil>", 'Invalid value: "object": uid is not for rules'),
        ("<nil>", 'Invalid value: "object": no such key: namespace evaluating rule: '
                  "self.metadata.namespace == 'default'")]


def test_evaluation_errors_are_named() -> None:
    schema = crd_schema([rule("self.replicas / (self.minReplicas - 1) > 0"),
                         rule("self.image > 3")])
    assert cel.validate(schema, crontab(minReplicas=1, image="x")).errors == [
        ("spec", 'Invalid value: "object": division by zero evaluating rule: '
                 "self.replicas / (self.minReplicas - 1) > 0"),
        ("spec", "Invalid value: \"object\": 'no such overload': call arguments did not "
                 "match a supported operator, function or macro signature for rule: "
                 "self.image > 3")]


def test_rules_on_items_maps_and_nulls() -> None:
    schema = {"type": "object", "properties": {
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object",
                            "properties": {"name": {"type": "string"},
                                           "port": {"type": "integer"}},
                            "x-kubernetes-validations": [
                                rule("self.port > 0", message="port must be positive"),
                                rule("self.port == oldSelf.port",
                                     message="port is immutable")]}},
        "env": {"type": "object", "additionalProperties": {
            "type": "string", "nullable": True,
            "x-kubernetes-validations": [rule("size(self) <= 3")]}}}}
    old = {"ports": [{"name": "a", "port": 1}]}
    new = {"ports": [{"name": "b", "port": 0}, {"name": "a", "port": 2}],
           "env": {"X": "long value", "Y": None}}
    assert cel.validate(schema, new, old, path="spec").errors == [
        ("spec.ports[0]", 'Invalid value: "object": port must be positive'),
        ("spec.ports[1]", 'Invalid value: "object": port is immutable'),
        ("spec.env[X]", 'Invalid value: "string": failed rule: size(self) <= 3')]


def test_schema_types_reach_cel() -> None:
    schema = {"type": "object", "properties": {
        "ratio": {"type": "number"},
        "at": {"type": "string", "format": "date-time"},
        "every": {"type": "string", "format": "duration"},
        "size": {"x-kubernetes-int-or-string": True}},
        "x-kubernetes-validations": [
            rule("self.ratio == 1.0"),
            rule("self.at < timestamp('2030-01-01T00:00:00Z')"),
            rule("self.every == duration('90s')"),
            rule("type(self.size) == string || self.size > 1")]}
    value = {"ratio": 1, "at": "2026-12-06T17:00:00Z", "every": "90s", "size": "50%"}
    assert cel.validate(schema, value, path="spec").errors == []


def test_kubernetes_library_functions() -> None:
    rules = [
        "self.image.lowerAscii() == 'nginx:1.27'",
        "self.image.split(':')[1] == '1.27'",
        "self.image.indexOf(':') == 5 && self.image.substring(0, 5) == 'NGINX'",
        "['a', 'b'].join('-') == 'a-b' && ' x '.trim() == 'x'",
        "[1, 2, 3].isSorted() && [1, 2, 3].sum() == 6 && [3, 1].min() == 1",
        "self.image.find('[0-9]+') == '1' && self.image.findAll('[0-9]+') == ['1', '27']",
        "self.image.replace('NGINX', 'x') == 'x:1.27'",
    ]
    schema = crd_schema([rule(r) for r in rules])
    assert cel.validate(schema, crontab(image="NGINX:1.27")).errors == []


def test_rule_problems_as_a_crd_create_reports_them() -> None:
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "properties": {"a": {"type": "string"}},
        "x-kubernetes-validations": [
            rule("self.a +"),
            rule("true", messageExpression="'x' +"),
            rule("true", reason="Sometimes"),
            rule("true", fieldPath=".nosuch"),
            rule("self.a == 'x'", fieldPath=".a", reason="FieldValueRequired"),
            rule("(!(has(oldSelf.namespace) && !has(self.a)))", message="immutable")]}},
        "x-kubernetes-validations": [rule("self.metadata.labels.x == 'y'")]}
    base = "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations"

    def go(text: str, message: str = "", expression: str = "", reason: str = "nil") -> str:
        return (f'apiextensions.ValidationRule{{Rule:"{text}", Message:"{message}", '
                f'MessageExpression:"{expression}", '
                f"Reason:(*apiextensions.FieldValueErrorReason)({reason}), FieldPath:\"\", "
                "OptionalOldSelf:(*bool)(nil)}")

    labels = go("self.metadata.labels.x == 'y'")
    assert cel.rule_problems(schema, "spec.validation.openAPIV3Schema") == [
        ("spec.validation.openAPIV3Schema.x-kubernetes-validations[0].rule",
         f"Invalid value: {labels}: compilation failed: "
         "ERROR: <input>:1:14: undefined field 'labels'\n"
         " | self.metadata.labels.x == 'y'\n | .............^"),
        (f"{base}[0].rule", f"Invalid value: {go('self.a +')}: compilation failed: ERROR: "
                            "<input>:1:8: Syntax error: unexpected input\n | self.a +\n"
                            " | .......^"),
        (f"{base}[1].messageExpression",
         f"Invalid value: {go('true', expression=chr(39) + 'x' + chr(39) + ' +')}: "
         "messageExpression compilation failed: ERROR: <input>:1:5: Syntax error: "
         "unexpected input\n | 'x' +\n | ....^"),
        (f"{base}[2].reason", 'Unsupported value: "Sometimes": supported values: '
         '"FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", '
         '"FieldValueDuplicate"'),
        (f"{base}[3].fieldPath", 'Invalid value: ".nosuch": fieldPath must be a valid '
                                 "path"),
        # The line kubectl prints for the grafana-operator's CRD on a real cluster.
        (f"{base}[5].rule",
         f"Invalid value: {go('(!(has(oldSelf.namespace) && !has(self.a)))', 'immutable')}: "
         "compilation failed: ERROR: <input>:1:7: undefined field 'namespace'\n"
         " | (!(has(oldSelf.namespace) && !has(self.a)))\n | ......^")]
    assert cel.has_rules(schema)
    assert not cel.has_rules({"type": "object", "properties": {"a": {"type": "string"}}})


def test_fields_are_checked_only_where_the_schema_says() -> None:
    free = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"m": {"type": "object",
                                 "additionalProperties": {"type": "string"}}},
            "x-kubernetes-validations": [rule("self.anything.goes && self.m.key == 'v'"),
                                         rule("self.m.all(k, k.size() > 0)")]}
    assert cel.rule_problems(free, "s", root=False) == []
    root = {"type": "object", "x-kubernetes-validations": [
        rule("self.metadata.name.size() < 10 && self.kind == 'A' && self.apiVersion != ''")]}
    assert cel.rule_problems(root, "s") == []


def test_a_bad_rule_at_validation_is_an_error_not_a_crash() -> None:
    schema = crd_schema([rule("self.replicas >"), rule("true")])
    assert cel.validate(schema, crontab()).errors == [
        ("spec", 'Invalid value: "object": rule compile error: ERROR: <input>:1:15: '
                 "Syntax error: unexpected input\n | self.replicas >\n | ..............^")]


def test_the_budget_bounds_a_huge_object() -> None:
    schema = {"type": "array", "items": {"type": "integer", "x-kubernetes-validations": [
        rule("self >= 0")]}}
    errors = cel.validate(schema, list(range(105)), path="spec", budget=100).errors
    assert errors == [("spec[100]",
                       'Invalid value: "integer": validation failed due to running out of '
                       "cost budget, no further validation rules will be run")]


def test_regexes_are_re2s() -> None:
    """find/findAll as cel-go runs them: RE2 syntax (no lookahead) and linear time on a
    pattern Python's re would backtrack on for ages."""
    schema = {"type": "string", "x-kubernetes-validations": [
        rule("self.find('(a+)+b') == ''"), rule("self.find('(?=a)') == ''")]}
    errors = cel.validate(schema, "a" * 5000 + "!", path="spec.s").errors
    assert len(errors) == 1
    field, message = errors[0]
    assert field == "spec.s" and message.startswith(
        'Invalid value: "string": error parsing regexp: invalid perl operator: (?=')


def test_hostile_rules_are_compile_errors_not_crashes() -> None:
    deep = "(" * 3000 + "true" + ")" * 3000
    schema = {"type": "object", "x-kubernetes-validations": [rule(deep), rule("x" * 20_000)]}
    assert cel.validate(schema, {}, path="spec").errors == [
        ("spec", 'Invalid value: "object": rule compile error: expression nested too deeply'),
        ("spec", 'Invalid value: "object": rule compile error: expression of 20000 '
                 "characters, over 10000")]
    assert [f for f, _ in cel.rule_problems(schema, "s")] == [
        "s.x-kubernetes-validations[0].rule", "s.x-kubernetes-validations[1].rule"]


def test_optional_old_self_runs_on_a_create_too() -> None:
    """optionalOldSelf: the rule runs without an old value, oldSelf an empty optional."""
    schema = crd_schema([rule("!oldSelf.hasValue() || self.replicas >= "
                              "oldSelf.value().replicas", message="no shrinking",
                              optionalOldSelf=True),
                         rule("self.replicas == oldSelf.orValue({'replicas': 2}).replicas",
                              message="born with two, then fixed", optionalOldSelf=True)])
    assert cel.validate(schema, crontab(replicas=2)).errors == []
    assert cel.validate(schema, crontab(replicas=3)).errors == [
        ("spec", 'Invalid value: "object": born with two, then fixed')]
    assert cel.validate(schema, crontab(replicas=1), crontab(replicas=2)).errors == [
        ("spec", 'Invalid value: "object": no shrinking'),
        ("spec", 'Invalid value: "object": born with two, then fixed')]


def test_commands_that_touch_no_custom_kind_do_not_load_cel(tmp_path: Path) -> None:
    """Every command opens the store and checks manifests; CEL (tens of ms to import) is
    for custom resources' rules only."""
    code = ("import sys, io\n"
            "from pathlib import Path\n"
            "from podctl.store import Store\n"
            "from podctl.manifest import check_document, read_manifests\n"
            f"Store(Path({str(tmp_path / 'store.db')!r})).list('Pod')\n"
            "doc = 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: a}\\n'\n"
            "result = next(iter(read_manifests(['-'], io.StringIO(doc))))\n"
            "assert not check_document(result.documents[0], None).problems\n"
            "print('podctl.api.cel' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
