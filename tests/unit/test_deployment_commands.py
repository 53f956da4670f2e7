"""The object `create deployment` generates."""

from __future__ import annotations

import re

from podctl.manifest import check_document
from podctl.manifest.load import Document
from podctl.ops.deployment import build_deployment, container_name


def test_container_name_is_the_last_path_segment_without_tag_or_digest() -> None:
    assert container_name("podctl/kubia:1") == "kubia"
    assert container_name("registry:5000/team/nginx@sha256:abc") == "nginx"
    assert container_name("busybox") == "busybox"


def test_container_name_sanitizes_dots_and_underscores_with_a_suffix() -> None:
    assert re.fullmatch(r"my-app-v1-[a-z0-9]{5}", container_name("repo/my_app.v1:2"))


def test_generated_deployment_is_valid_and_labelled_app_name() -> None:
    obj = build_deployment("web", ["podctl/kubia:1", "podctl/busybox:1"], 3, 8080)
    checked = check_document(Document("-", 0, obj, None))
    assert checked.problems == [] and checked.obj is not None
    spec = checked.obj["spec"]
    assert spec["replicas"] == 3
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    first, second = spec["template"]["spec"]["containers"]
    assert (first["name"], first["ports"][0]["containerPort"]) == ("kubia", 8080)
    assert second["name"] == "busybox" and "ports" not in second


def test_no_port_without_the_flag() -> None:
    obj = build_deployment("web", ["podctl/kubia:1"], 1, -1)
    assert "ports" not in obj["spec"]["template"]["spec"]["containers"][0]
