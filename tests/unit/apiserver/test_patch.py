"""The API server's PATCH flavours, against upstream's patch merge keys."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.apiserver import openapi
from podctl.apiserver.patch import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC,
    PatchError,
    Schemas,
    apply_patch,
    json_patch,
    merge_patch,
)

POD_SCHEMA = {"$ref": openapi.COMPONENTS + "io.k8s.api.core.v1.Pod"}


def pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"a": "1", "b": "2"},
                         "finalizers": ["x"]},
            "spec": {"containers": [
                {"name": "web", "image": "web:1", "ports": [{"containerPort": 80}],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                {"name": "side", "image": "side:1"}],
                "tolerations": [{"key": "k"}]}}


def strategic(patch: dict[str, Any]) -> dict[str, Any]:
    return apply_patch(STRATEGIC, pod(), patch, POD_SCHEMA, Schemas(openapi.bundle()["schemas"]))


def test_strategic_merges_containers_by_name_and_keeps_the_others() -> None:
    out = strategic({"spec": {"containers": [{"name": "web", "image": "web:2"}]}})
    web, side = out["spec"]["containers"]
    assert (web["name"], web["image"], side["image"]) == ("web", "web:2", "side:1")
    assert web["ports"] == [{"containerPort": 80}]  # untouched fields stay


def test_strategic_merges_nested_env_by_name_and_adds_new_items() -> None:
    out = strategic({"spec": {"containers": [{"name": "web", "env": [
        {"name": "B", "value": "changed"}, {"name": "C", "value": "3"}]}]}})
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"}, {"name": "B", "value": "changed"},
        {"name": "C", "value": "3"}]


def test_strategic_delete_directive_removes_a_keyed_item() -> None:
    out = strategic({"spec": {"containers": [{"name": "side", "$patch": "delete"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["web"]


def test_strategic_replaces_lists_without_a_merge_strategy() -> None:
    out = strategic({"spec": {"tolerations": [{"key": "other"}]}})
    assert out["spec"]["tolerations"] == [{"key": "other"}]


def test_strategic_null_removes_a_key_and_primitive_merge_lists_union() -> None:
    out = strategic({"metadata": {"labels": {"a": None, "c": "3"}, "finalizers": ["y"]}})
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert out["metadata"]["finalizers"] == ["x", "y"]


def test_strategic_set_element_order_orders_the_merged_list() -> None:
    out = strategic({"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
                              "containers": [{"name": "web", "image": "web:3"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["side", "web"]


def test_merge_patch_replaces_lists_whole() -> None:
    out = merge_patch(pod(), {"spec": {"containers": [{"name": "only", "image": "i"}]},
                              "metadata": {"labels": {"a": None}}})
    assert out["spec"]["containers"] == [{"name": "only", "image": "i"}]
    assert out["metadata"]["labels"] == {"b": "2"}


def test_json_patch_operations() -> None:
    out = json_patch(pod(), [
        {"op": "replace", "path": "/spec/containers/0/image", "value": "web:9"},
        {"op": "add", "path": "/metadata/labels/x~1y", "value": "z"},
        {"op": "remove", "path": "/metadata/labels/a"},
        {"op": "add", "path": "/spec/containers/-", "value": {"name": "last", "image": "l"}},
        {"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/name"},
        {"op": "test", "path": "/spec/containers/0/image", "value": "web:9"},
    ])
    assert out["spec"]["containers"][0]["image"] == "web:9"
    assert out["metadata"]["labels"] == {"b": "2", "x/y": "z", "name": "p"}
    assert out["spec"]["containers"][-1]["name"] == "last"


def test_json_patch_failures_are_patch_errors() -> None:
    with pytest.raises(PatchError):
        json_patch(pod(), [{"op": "test", "path": "/metadata/name", "value": "other"}])
    with pytest.raises(PatchError):
        json_patch(pod(), [{"op": "remove", "path": "/metadata/nothing"}])
    with pytest.raises(PatchError):
        apply_patch(JSON_PATCH, pod(), {"not": "a list"}, POD_SCHEMA, Schemas({}))


def test_merge_patch_by_media_type() -> None:
    out = apply_patch(MERGE_PATCH, pod(), {"metadata": {"labels": {"b": None}}}, POD_SCHEMA,
                      Schemas({}))
    assert out["metadata"]["labels"] == {"a": "1"}
