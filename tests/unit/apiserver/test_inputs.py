"""Every input the API takes, bounded and refused in upstream's words: body decoders (JSON
depth, YAML aliases and depth, protobuf varints and nesting), query parameters, field
selectors, continue tokens and resourceVersions."""

from __future__ import annotations

import base64
import json
import time
import tracemalloc

import pytest

from podctl.apiserver import bodies, fields, objects, params, protobuf
from podctl.apiserver.status import ApiError

ALIAS_BOMB = """apiVersion: v1
kind: ConfigMap
metadata:
  name: bomb
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def refusal(fn: object, *args: object, **kwargs: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        fn(*args, **kwargs)  # type: ignore[operator]
    return caught.value


# -- bodies ---------------------------------------------------------------------------------


def test_json_nesting_is_measured_without_recursing() -> None:
    assert not bodies.nesting_depth_exceeds(b"[" * 100 + b"]" * 100)
    assert bodies.nesting_depth_exceeds(b"[" * 101 + b"]" * 101)
    assert not bodies.nesting_depth_exceeds(b'{"a": "' + b"[" * 500 + b'"}')  # in a string
    escaped = b'{"a": "\\"[[[[[[", "b": [{}]}'
    assert not bodies.nesting_depth_exceeds(escaped, limit=3)
    assert bodies.nesting_depth_exceeds(escaped, limit=2)
    assert bodies.nesting_depth_exceeds(b"[" * 101)  # unbalanced and too deep
    assert not bodies.nesting_depth_exceeds(b"[[}")  # unbalanced: the parser says so
    started = time.monotonic()
    with pytest.raises(bodies.BodyError, match=r"^exceeded max depth$"):
        bodies.decode_json(b'{"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert time.monotonic() - started < 1


def test_json_is_decoded_as_gos_decoder_reads_it() -> None:
    decoded = bodies.decode_json(b'{"a":1,"spec":{"r":1,"r":2,"l":[{"x":1,"x":2}]},"a":2}')
    assert decoded.value == {"a": 2, "spec": {"r": 2, "l": [{"x": 2}]}}  # the last one wins
    assert decoded.duplicates == ['duplicate field "a"', 'duplicate field "spec.r"',
                                  'duplicate field "spec.l[0].x"']
    for text, message in (
            (b'{"a": NaN}', "invalid character 'N' looking for beginning of value"),
            (b'{"a": 1e400}', "json: cannot unmarshal number 1e400 into Go value of type "
                              "float64"),
            (b'{"a": ', "unexpected end of JSON input"),
            (b"", "unexpected end of JSON input"),
            (b'{"a" 1}', "invalid character '1' after object key"),
            (b"{} x", "invalid character 'x' after top-level value")):
        with pytest.raises(bodies.BodyError) as caught:
            bodies.decode_json(text)
        assert str(caught.value) == message


def test_a_yaml_alias_bomb_is_refused_at_once_in_little_memory() -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(bodies.BodyError, match="aliases expand to more than 100000 nodes"):
            bodies.decode(ALIAS_BOMB.encode(), "application/yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 1
    assert peak < 50 * 1024 * 1024


def test_a_yaml_body_of_too_many_nodes_is_refused_where_it_crosses_the_limit() -> None:
    flat = b"data: [" + b",".join([b"1"] * 300_000) + b"]"
    with pytest.raises(bodies.BodyError) as caught:
        bodies.decode_yaml(flat)
    assert str(caught.value) == ("error converting YAML to JSON: yaml: line 1: the document "
                                 "holds more than 250000 nodes; refusing to load it")


def test_yaml_depth_duplicates_and_syntax() -> None:
    deep = b"data: " + b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(bodies.BodyError, match=r"^error converting YAML to JSON: yaml: line 1"):
        bodies.decode_yaml(deep)
    decoded = bodies.decode_yaml(b"a: 1\na: 2\n")
    assert decoded.value == {"a": 2}
    assert decoded.duplicates == ['yaml: unmarshal errors:\n  line 2: key "a" already set '
                                  "in map"]
    with pytest.raises(bodies.BodyError, match=r"^error converting YAML to JSON: yaml: line"):
        bodies.decode_yaml(b"a: [1\n")
    with pytest.raises(bodies.BodyError, match="invalid leading UTF-8 octet"):
        bodies.decode_yaml(b"a: \xff")


def test_protobuf_varints_nesting_and_wire_types_are_bounded() -> None:
    with pytest.raises(protobuf.ProtobufError, match="varint longer than 10 bytes"):
        protobuf._varint(b"\xff" * 1_000_000 + b"\x01", 0)
    with pytest.raises(protobuf.ProtobufError, match="unexpected EOF"):
        protobuf._fields(b"\x0a\x05ab")  # a 5-byte string with 2 bytes left
    # A varint where a string belongs would make bytes(2**62): refused, not allocated.
    with pytest.raises(protobuf.ProtobufError, match="wrong wire type"):
        protobuf._scalar("string", 0, 2**62)
    with pytest.raises(protobuf.ProtobufError, match="deeper than 100"):
        protobuf.decode_message(b"", "k8s.io.api.core.v1.Pod", depth=101)
    with pytest.raises(protobuf.ProtobufError, match=r"malformed|wrong wire type"):
        # typeMeta (field 1 of runtime.Unknown) given as a varint
        protobuf.decode(protobuf.MAGIC + b"\x08\x05")


def test_bodies_over_the_limit_are_summarised_and_refused_as_upstream() -> None:
    error = bodies.too_large()
    assert (error.code, error.reason, error.message) == (
        413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
    assert bodies.summary(b"") == "<empty>"
    assert bodies.summary(b'{"kind":"Pod"}') == '{"kind":"Pod"}'
    assert bodies.summary(b"a: 1") == "613a2031"
    assert bodies.summary(b"x" * 40).endswith(" ...")


# -- parameters -----------------------------------------------------------------------------


def test_integers_and_booleans_decode_as_go_parses_them() -> None:
    assert params.go_int("42") == 42 and params.go_int("-7") == -7
    assert params.go_int("+0009") == 9
    assert refusal(params.go_int, "abc").message == \
        'strconv.ParseInt: parsing "abc": invalid syntax'
    for text in ("", " 5", "5_0", "1e3", "٣"):  # Python's int() takes the last three
        assert refusal(params.go_int, text).code == 400
    assert refusal(params.go_int, "9" * 30).message.endswith(": value out of range")
    assert refusal(params.go_int, str(2**63)).message.endswith(": value out of range")
    assert params.go_bool("") and params.go_bool("yes") and params.go_bool("1")
    assert not params.go_bool(None) and not params.go_bool("FALSE") and not params.go_bool("0")


def test_list_options_are_decoded_then_validated() -> None:
    opts = params.list_options({"limit": "5", "timeoutSeconds": "30", "watch": "true",
                                "resourceVersion": "12", "allowWatchBookmarks": "1"})
    assert (opts.limit, opts.timeout_seconds, opts.watch, opts.allow_bookmarks) == \
        (5, 30, True, True)
    for query in ({"timeoutSeconds": "abc"}, {"limit": "x"}, {"limit": ""},
                  {"watch": "1", "timeoutSeconds": "1.5"}):
        assert refusal(params.list_options, query).code == 400
    bad = refusal(params.list_options, {"resourceVersionMatch": "Bogus",
                                        "resourceVersion": "1"})
    assert (bad.code, bad.message) == (422, (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: '
        '"Bogus": supported values: "Exact", "NotOlderThan", ""'))
    assert "resourceVersionMatch is forbidden unless resourceVersion is provided" in \
        refusal(params.list_options, {"resourceVersionMatch": "Exact"}).message
    assert "sendInitialEvents is forbidden for list" in \
        refusal(params.list_options, {"sendInitialEvents": "true"}).message
    assert "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan" in \
        refusal(params.list_options, {"watch": "1", "sendInitialEvents": "true"}).message
    watch_list = params.list_options({"watch": "1", "sendInitialEvents": "true",
                                      "resourceVersionMatch": "NotOlderThan"})
    assert watch_list.send_initial_events


def test_write_options_dry_run_field_validation_and_manager() -> None:
    assert params.write_options([], {}, "CreateOptions").validation == "Warn"  # the default
    opts = params.write_options(["All"], {"fieldValidation": "Strict"}, "PatchOptions")
    assert opts.dry_run and opts.strict
    bad = refusal(params.write_options, ["x"], {}, "CreateOptions")
    assert bad.message == ('CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported '
                           'value: []string{"x"}: supported values: "All"')
    bad = refusal(params.write_options, [], {"fieldValidation": "strict"}, "UpdateOptions")
    assert bad.message == ('UpdateOptions.meta.k8s.io "" is invalid: fieldValidation: '
                           'Unsupported value: "strict": supported values: "", "Ignore", '
                           '"Strict", "Warn"')
    assert "Too long: may not be more than 128 bytes" in refusal(
        params.write_options, [], {"fieldManager": "m" * 129}, "PatchOptions").message
    assert "invalid character U+0007 (at position 1)" in refusal(
        params.write_options, [], {"fieldManager": "a\x07"}, "PatchOptions").message


def test_resource_versions_parse_as_the_storage_layer() -> None:
    assert params.parse_resource_version("12") == 12
    for text, reason in (("abc", "invalid syntax"), ("-1", "invalid syntax"),
                         ("+1", "invalid syntax"), ("9" * 25, "value out of range")):
        with pytest.raises(ValueError) as caught:
            params.parse_resource_version(text)
        assert str(caught.value) == (f'resourceVersion: Invalid value: "{text}": '
                                     f'strconv.ParseUint: parsing "{text}": {reason}')


# -- field selectors ------------------------------------------------------------------------


def test_field_selectors_parse_as_apimachinery() -> None:
    reqs = fields.parse_field_selector("status.phase!=Running,spec.nodeName==n\\,1", "Pod")
    assert reqs == [fields.Requirement("spec.nodeName", "n,1", True),
                    fields.Requirement("status.phase", "Running", False)]
    for text, message in (
            ("===", "invalid field selector: unescaped character in value: 61"),
            ("a", "invalid selector: 'a'; can't understand 'a'"),
            ("metadata.name=a\\b", "invalid field selector: invalid escape sequence: \\b"),
            ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\")):
        with pytest.raises(fields.FieldSelectorError) as caught:
            fields.parse_field_selector(text, "Pod")
        assert str(caught.value) == message


def test_each_kind_takes_only_its_field_labels_with_upstreams_refusal() -> None:
    def refused(kind: str, text: str) -> str:
        with pytest.raises(fields.FieldSelectorError) as caught:
            fields.parse_field_selector(text, kind)
        return str(caught.value)

    assert refused("Pod", "spec.bogus=1") == "field label not supported: spec.bogus"
    assert refused("ConfigMap", "data.x=1") == \
        '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"'
    assert refused("Job", "status.succeeded=1") == \
        'field label "status.succeeded" not supported for batchv1.Job'
    assert refused("Namespace", "metadata.namespace=x") == \
        "field label not supported: metadata.namespace"
    assert refused("ReplicaSet", "status.replicas=1").startswith('"status.replicas" is not')
    for kind, label in (("Pod", "spec.schedulerName"), ("Pod", "status.podIPs"),
                        ("Event", "involvedObject.uid"), ("Event", "reportingComponent"),
                        ("Secret", "type"), ("Node", "spec.unschedulable"),
                        ("ReplicationController", "status.replicas"),
                        ("Job", "status.successful"), ("Service", "spec.clusterIP"),
                        ("Deployment", "metadata.namespace")):
        assert fields.parse_field_selector(f"{label}=x", kind)[0].field == label
    assert fields.parse_field_selector("spec.host=n", "Pod")[0].field == "spec.nodeName"


def test_field_values_are_the_selectable_fields_upstream_gives() -> None:
    pod = {"spec": {}, "status": {"podIPs": [{"ip": "10.0.0.2"}, {"ip": "fd00::2"}]}}
    assert fields.field_value(pod, "spec.hostNetwork") == "false"
    assert fields.field_value(pod, "status.podIP") == "10.0.0.2"
    assert fields.field_value(pod, "status.podIPs") == "10.0.0.2,fd00::2"
    assert fields.field_value({"status": {"succeeded": 2}}, "status.successful") == "2"
    assert fields.field_value({}, "status.replicas") == "0"
    assert fields.field_value({"reportingComponent": "kubelet", "source": {}}, "source") == \
        "kubelet"


# -- continue tokens and resourceVersions ---------------------------------------------------


def test_continue_tokens_are_upstreams_and_checked() -> None:
    token = objects.encode_continue("default", "pod-2", 7)
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert data == {"v": "meta.k8s.io/v1", "rv": 7, "start": "default/pod-2\x00"}
    assert "=" not in token
    assert objects.decode_continue(token, oldest=3) == ("default", "pod-2")
    assert objects.decode_continue(objects.encode_continue("", "node-1", 7), 0) == \
        ("", "node-1")

    def refused(token: str, oldest: int = 0) -> ApiError:
        return refusal(objects.decode_continue, token, oldest)

    assert refused("bogus!").message == ("invalid continue token: continue key is not valid: "
                                         "illegal base64 data at input byte 5")
    assert refused("abcde").code == 400

    def forged(body: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")

    assert refused(forged({"v": "other", "rv": 1, "start": "a"})).message.endswith(
        "server does not recognize this encoded version other")
    assert refused(forged({"v": "meta.k8s.io/v1", "rv": 0, "start": "a"})).message.endswith(
        "incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    assert refused(forged({"v": "meta.k8s.io/v1", "rv": 3, "start": ""})).message.endswith(
        "encoded start key empty (version meta.k8s.io/v1)")
    assert refused(forged({"v": "meta.k8s.io/v1", "rv": 3, "start": "a/../b"})).code == 400
    expired = refused(token, oldest=8)
    assert (expired.code, expired.reason) == (410, "Expired")
    assert expired.message.startswith("The provided continue parameter is too old")
    rest = expired.status()["metadata"]["continue"]
    assert objects.decode_continue(rest, oldest=8) == ("default", "pod-2")  # rv -1: latest


def test_list_resource_versions_the_store_can_serve() -> None:
    def start(**query: object) -> tuple[str, str] | None:
        return objects.start_after(params.ListOptions(**query), 10, 5)  # type: ignore[arg-type]

    assert start() is None and start(resource_version="0") is None
    assert start(resource_version="8") is None  # not older than 8: the current state is
    assert start(resource_version="10", resource_version_match="Exact") is None
    too_large = refusal(start, resource_version="11")
    assert (too_large.code, too_large.message) == (
        504, "Timeout: Too large resource version: 11, current: 10")
    assert too_large.details == {"causes": [{"reason": "ResourceVersionTooLarge",
                                             "message": "Too large resource version"}],
                                 "retryAfterSeconds": 1}
    old = refusal(start, resource_version="8", resource_version_match="Exact")
    assert (old.code, old.message) == (410, "The resourceVersion for the provided list is "
                                            "too old.")
    assert refusal(start, resource_version="8", limit=5).code == 410  # legacy: exact
    assert refusal(start, resource_version="abc").message == (
        'invalid resource version: resourceVersion: Invalid value: "abc": strconv.ParseUint: '
        'parsing "abc": invalid syntax')
    assert refusal(start, resource_version="3", continue_token="x").message == \
        "specifying resource version is not allowed when using continue"


def test_pod_log_options_are_decoded_and_validated() -> None:
    from aiohttp.test_utils import make_mocked_request

    from podctl.apiserver import podlogs

    def options(query: str) -> podlogs.LogOptions:
        return podlogs.log_options(make_mocked_request("GET", f"/log?{query}"), "p")

    opts = options("tailLines=5&follow=yes&limitBytes=10&sinceSeconds=60")
    assert (opts.tail, opts.follow, opts.limit, opts.previous) == (5, True, 10, False)
    assert opts.since is not None
    assert options(f"sinceSeconds={10**18}").since is None  # before any start: no limit
    assert refusal(options, "tailLines=-1").message == (
        'PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or '
        "equal to 0")
    assert "limitBytes: Invalid value: 0: must be greater than 0" in \
        refusal(options, "limitBytes=0").message
    assert refusal(options, "tailLines=ten").message == \
        'strconv.ParseInt: parsing "ten": invalid syntax'
    assert refusal(options, "sinceTime=yesterday").code == 400
    assert "at most one of `sinceTime` or `sinceSeconds`" in refusal(
        options, "sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z").message


def test_openapi_v2_answers_kubectls_protobuf_request() -> None:
    from podctl.apiserver import openapi

    assert openapi.wants_protobuf("application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert not openapi.wants_protobuf("application/json")
    document = {number: value for number, _, value in protobuf._fields(openapi.v2_protobuf())}
    assert document[1] == b"2.0"
    definitions = [dict((n, v) for n, _, v in protobuf._fields(entry))
                   for _, _, entry in protobuf._fields(document[9])]
    names = {d[1].decode(): d[2] for d in definitions}
    deployment = {n: v for n, _, v in protobuf._fields(names["io.k8s.api.apps.v1.Deployment"])}
    extension = dict((n, v) for n, _, v in protobuf._fields(deployment[31]))
    assert extension[1] == b"x-kubernetes-group-version-kind"
    any_value = dict((n, v) for n, _, v in protobuf._fields(extension[2]))
    assert json.loads(any_value[2]) == [{"group": "apps", "kind": "Deployment",
                                         "version": "v1"}]
