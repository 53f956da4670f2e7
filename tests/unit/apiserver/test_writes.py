"""The writing verbs' pure parts: validation into Status causes, DeleteOptions, Scale."""

from __future__ import annotations

import pytest

from podctl import registry
from podctl.apiserver.status import ApiError, from_error
from podctl.apiserver.writes import decoded_body, delete_options, scale_of
from podctl.errors import Invalid


def test_validation_failures_are_invalid_with_one_cause_per_field() -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c"}]}}
    with pytest.raises(Invalid) as caught:
        registry.validated(body, "default")
    status = from_error(caught.value).status()
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"] == [{"reason": "FieldValueInvalid",
                                            "message": "Required value",
                                            "field": "spec.containers[0].image"}]


def test_unknown_fields_are_strict_decoding_errors() -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "bogus": 1}
    with pytest.raises(ApiError) as caught:
        decoded_body("ConfigMap", "default", body)
    assert caught.value.reason == "BadRequest"
    assert caught.value.message == ('ConfigMap in version "v1" cannot be handled as a '
                                    'ConfigMap: strict decoding error: unknown field "bogus"')


def test_the_body_namespace_must_be_the_paths() -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
                                                                   "namespace": "other"}}
    with pytest.raises(ApiError, match="does not match the namespace sent on the request"):
        decoded_body("ConfigMap", "default", body)
    defaulted = decoded_body("ConfigMap", "default", {"metadata": {"name": "c"}})
    assert defaulted["metadata"]["namespace"] == "default"
    assert (defaulted["apiVersion"], defaulted["kind"]) == ("v1", "ConfigMap")


def test_delete_options_from_the_body_else_the_query() -> None:
    opts = delete_options({"gracePeriodSeconds": "5"}, ["All"], None)
    assert (opts.grace, opts.dry_run, opts.propagation) == (5, True, None)
    opts = delete_options({"gracePeriodSeconds": "5"}, [], {
        "kind": "DeleteOptions", "propagationPolicy": "Orphan", "preconditions": {"uid": "u1"}})
    assert (opts.propagation, opts.uid, opts.grace) == ("Orphan", "u1", None)
    assert delete_options({}, [], {"orphanDependents": True}).propagation == "Orphan"
    assert delete_options({}, [], {"dryRun": ["All"]}).dry_run
    # A negative grace period is 1 s, as the pod strategy makes it; a huge one is capped.
    assert delete_options({"gracePeriodSeconds": "-3"}, [], None).grace == 1
    assert delete_options({}, [], {"gracePeriodSeconds": 10**15}).grace == 2**31 - 1


def test_delete_options_refused_in_upstreams_words() -> None:
    def refused(query: dict[str, str], dry_run: list[str], body: object) -> tuple[int, str]:
        with pytest.raises(ApiError) as caught:
            delete_options(query, dry_run, body)
        return caught.value.code, caught.value.message

    assert refused({"propagationPolicy": "Sideways"}, [], None) == (
        422, 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
        '"Sideways": supported values: "Foreground", "Background", "Orphan", "nil"')
    assert refused({}, ["x"], None) == (
        422, 'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
        '[]string{"x"}: supported values: "All"')
    assert refused({"gracePeriodSeconds": "soon"}, [], None) == (
        400, 'strconv.ParseInt: parsing "soon": invalid syntax')
    assert refused({}, [], [1]) == (
        400, "json: cannot unmarshal array into Go value of type v1.DeleteOptions")
    assert refused({}, [], {"gracePeriodSeconds": "5"}) == (
        400, "json: cannot unmarshal string into Go struct field "
        "DeleteOptions.gracePeriodSeconds of type int64")
    assert refused({}, [], {"dryRun": "All"})[0] == 400
    assert refused({}, [], {"orphanDependents": False, "propagationPolicy": "Orphan"})[0] == 422


def test_scale_of_a_deployment_and_an_rc() -> None:
    deployment = {"kind": "Deployment", "metadata": {"name": "web", "namespace": "default",
                                                     "uid": "u", "resourceVersion": "7"},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"b": "2", "a": "1"}}},
                  "status": {"replicas": 2}}
    assert scale_of(deployment) == {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web", "namespace": "default", "uid": "u",
                     "resourceVersion": "7"},
        "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "a=1,b=2"}}
    rc = {"kind": "ReplicationController", "metadata": {"name": "rc"},
          "spec": {"replicas": 1, "selector": {"app": "x"}}}
    assert scale_of(rc)["status"] == {"replicas": 0, "selector": "app=x"}


def test_podctls_invalid_messages_become_invalid_statuses_with_causes() -> None:
    one = Invalid('The Pod "p" is invalid: spec: Forbidden: pod updates may not change '
                  "fields other than x")
    status = from_error(one).status()
    assert (status["code"], status["message"]) == (422, 'Pod "p" is invalid: spec: Forbidden: '
                                                   "pod updates may not change fields other "
                                                   "than x")
    assert status["details"]["causes"][0]["field"] == "spec"
    many = Invalid('The ConfigMap "c" is invalid: \n* data[bad key]: Invalid value: "bad key"'
                   ': no\n* metadata.name: Required value')
    causes = from_error(many).status()["details"]["causes"]
    assert [(c["field"], c["message"]) for c in causes] == [
        ("data[bad key]", 'Invalid value: "bad key": no'), ("metadata.name", "Required value")]
