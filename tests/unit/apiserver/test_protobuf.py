"""Protobuf request bodies (kubectl's typed clients) decoded into their JSON objects."""

from __future__ import annotations

import pytest

from podctl.apiserver.protobuf import MAGIC, ProtobufError, decode


def varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: bytes | int | str) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return MAGIC + field(1, type_meta) + field(2, raw)


def test_a_configmap_as_kubectl_create_configmap_sends_it() -> None:
    metadata = field(1, "cfg") + field(2, "") + field(3, "default")  # "" is unset in Go
    entry = field(1, "a") + field(2, "b")
    empty = field(1, "e") + field(2, "")  # an empty value in a map stays
    body = envelope("v1", "ConfigMap", field(1, metadata) + field(2, entry) + field(2, empty))
    assert decode(body) == {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "cfg", "namespace": "default"},
                            "data": {"a": "b", "e": ""}}


def test_deployment_numbers_int_or_strings_times_and_repeated_messages() -> None:
    zero_time = b""  # Go's zero time: left out
    metadata = field(1, "web") + field(8, zero_time) + field(7, 0)
    container = field(1, "kubia") + field(2, "podctl/kubia:1") + field(
        6, field(3, 8080) + field(4, "TCP"))
    template = field(1, field(11, field(1, "app") + field(2, "web"))) + field(
        2, field(2, container))
    surge = field(1, 1) + field(3, "25%")  # IntOrString: type 1 is a string
    unavailable = field(1, 0) + field(2, 1)
    strategy = field(1, "RollingUpdate") + field(2, field(1, unavailable) + field(2, surge))
    spec = field(1, 3) + field(2, field(1, field(1, "app") + field(2, "web"))) + field(
        3, template) + field(4, strategy)
    obj = decode(envelope("apps/v1", "Deployment", field(1, metadata) + field(2, spec)))
    assert obj["metadata"] == {"name": "web"}
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert obj["spec"]["template"]["spec"]["containers"] == [
        {"name": "kubia", "image": "podctl/kubia:1",
         "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]
    assert obj["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {
        "maxUnavailable": 1, "maxSurge": "25%"}}


def test_secret_bytes_are_base64_and_times_rfc3339() -> None:
    created = field(1, 1_767_225_600)  # 2026-01-01T00:00:00Z
    metadata = field(1, "sec") + field(8, created)
    body = envelope("v1", "Secret", field(1, metadata) + field(2, field(1, "pw") + field(
        2, b"s3cret")))
    obj = decode(body)
    assert obj["data"] == {"pw": "czNjcmV0"}
    assert obj["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"


def test_what_is_not_a_kubernetes_protobuf_body() -> None:
    with pytest.raises(ProtobufError):
        decode(b'{"kind": "Pod"}')
    with pytest.raises(ProtobufError):
        decode(envelope("storage.k8s.io/v1", "StorageClass", b""))


def test_an_ingress_rules_value_is_inlined_and_a_named_port_has_no_number() -> None:
    """`kubectl create ingress`: Go's JSON inlines IngressRuleValue into the rule, and
    leaves a zero port number out."""
    port = field(1, "http") + field(2, 0)
    backend = field(4, field(1, "svc") + field(2, port))
    path = field(1, "/") + field(3, "Exact") + field(2, backend)
    rule = field(1, "foo.com") + field(2, field(1, field(1, path)))
    obj = decode(envelope("networking.k8s.io/v1", "Ingress",
                          field(1, field(1, "web")) + field(2, field(3, rule))))
    assert obj["spec"] == {"rules": [{"host": "foo.com", "http": {"paths": [{
        "path": "/", "pathType": "Exact",
        "backend": {"service": {"name": "svc", "port": {"name": "http"}}}}]}}]}
