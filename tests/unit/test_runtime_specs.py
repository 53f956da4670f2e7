"""runtime.specs, images and naming: pure translation of pod specs for Docker."""

from __future__ import annotations

import pytest

from podctl.api.images import default_pull_policy, split_reference
from podctl.api.quantity import bytes_of, millicores
from podctl.runtime import naming
from podctl.runtime.specs import (
    PodContext,
    container_env,
    entrypoint_and_cmd,
    expand,
    resource_limits,
)

CTX = PodContext(pod_ip="10.0.0.9", host_ip="192.168.0.1", node_name="node1")
POD = {"metadata": {"name": "web", "namespace": "prod", "uid": "u-1", "labels": {"app": "w"}},
       "spec": {"terminationGracePeriodSeconds": 5}}


def test_expand_known_unknown_and_escaped_references() -> None:
    env = {"A": "1"}
    assert expand("$(A)-$(B)-$$(A)", env) == "1-$(B)-$(A)"


def test_env_resolves_field_refs_and_earlier_variables() -> None:
    container = {"env": [
        {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "URL", "value": "http://$(IP):80/$(NAME)"},
        {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                           "divisor": "1Mi"}}},
    ], "resources": {"limits": {"memory": "64Mi"}}}
    assert container_env(POD, container, CTX) == {
        "NAME": "web", "IP": "10.0.0.9", "APP": "w", "URL": "http://10.0.0.9:80/web",
        "MEM": "64"}


@pytest.mark.parametrize("spec,expected", [
    ({}, (None, None)),
    ({"command": ["sh"]}, (["sh"], None)),
    ({"args": ["-x"]}, (None, ["-x"])),
    ({"command": ["echo"], "args": ["$(A)"]}, (["echo"], ["1"])),
])
def test_command_replaces_entrypoint_and_args_replace_cmd(
    spec: dict[str, list[str]], expected: tuple[object, object]
) -> None:
    assert entrypoint_and_cmd(spec, {"A": "1"}) == expected


def test_resource_limits_map_to_docker() -> None:
    container = {"resources": {"limits": {"memory": "128Mi", "cpu": "1500m"},
                               "requests": {"cpu": "250m"}}}
    assert resource_limits(container) == {"Memory": 128 * 2**20, "CpuQuota": 150_000,
                                          "CpuPeriod": 100_000, "CpuShares": 256}


@pytest.mark.parametrize("resources,expected", [
    ({}, {"CpuShares": 2}),  # best effort: the kubelet's floor
    ({"limits": {"cpu": "2"}}, {"CpuShares": 2048, "CpuQuota": 200_000, "CpuPeriod": 100_000}),
    ({"limits": {"cpu": "1m"}, "requests": {"cpu": "1m"}},
     {"CpuShares": 2, "CpuQuota": 1000, "CpuPeriod": 100_000}),
    ({"requests": {"cpu": "100m", "memory": "64Mi"}}, {"CpuShares": 102}),
])
def test_resource_limits_as_the_kubelet(resources: dict[str, dict[str, str]],
                                        expected: dict[str, int]) -> None:
    assert resource_limits({"resources": resources}) == expected


@pytest.mark.parametrize("text,value", [("1", 1000), ("0.5", 500), ("250m", 250), (2, 2000)])
def test_millicores(text: str | int, value: int) -> None:
    assert millicores(text) == value


@pytest.mark.parametrize("text,value", [("1Ki", 1024), ("1k", 1000), ("129e6", 129_000_000),
                                        ("1.5Gi", 3 * 2**29)])
def test_bytes(text: str, value: int) -> None:
    assert bytes_of(text) == value


@pytest.mark.parametrize("ref,policy", [
    ("busybox", "Always"), ("busybox:latest", "Always"), ("busybox:1.36", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:2", "IfNotPresent"),
    ("app@sha256:" + "a" * 64, "IfNotPresent"),
])
def test_default_pull_policy(ref: str, policy: str) -> None:
    assert default_pull_policy(ref) == policy


def test_split_reference_keeps_registry_port() -> None:
    assert split_reference("localhost:5000/app") == ("localhost:5000/app", None, None)


def test_dockershim_names_and_labels() -> None:
    assert naming.sandbox_name(POD, 0) == "k8s_POD_web_prod_u-1_0"
    assert naming.container_name(POD, "nginx", 2) == "k8s_nginx_web_prod_u-1_2"
    labels = naming.container_labels(POD, {"name": "nginx", "image": "x"}, 2, "sb")
    assert labels["io.kubernetes.pod.name"] == "web"
    assert labels["io.kubernetes.docker.type"] == "container"
    assert labels["io.kubernetes.sandbox.id"] == "sb"
    assert labels["annotation.io.kubernetes.container.restartCount"] == "2"
    assert labels["annotation.io.kubernetes.pod.terminationGracePeriod"] == "5"
    sandbox = naming.sandbox_labels(POD, 0)
    assert sandbox["app"] == "w" and sandbox["io.kubernetes.container.name"] == "POD"


def test_spec_hash_is_stable_and_sensitive() -> None:
    assert naming.spec_hash({"a": 1, "b": 2}) == naming.spec_hash({"b": 2, "a": 1})
    assert naming.spec_hash({"a": 1}) != naming.spec_hash({"a": 2})


def test_security_options_pass_capabilities_and_privileged() -> None:
    from podctl.runtime.specs import security_options

    assert security_options({"name": "c"}) == {}
    container = {"securityContext": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                                     "privileged": True}}
    assert security_options(container) == {"cap_add": ["NET_ADMIN"], "cap_drop": ["ALL"],
                                           "privileged": True}


def test_pod_dns_cluster_first_default_and_dns_config() -> None:
    from podctl.runtime.sandbox import PodDNS, pod_dns

    assert pod_dns({}, "web", "10.96.5.10") == PodDNS(
        ("10.96.5.10",), ("web.svc.cluster.local", "svc.cluster.local", "cluster.local"),
        ("ndots:5",), cluster_dns="10.96.5.10")
    assert pod_dns({"hostNetwork": True}, "web", "10.96.5.10") is None
    assert pod_dns({"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True}, "web",
                   "10.96.5.10") is not None
    assert pod_dns({}, "web", None) is None
    assert pod_dns({"dnsPolicy": "Default"}, "web", "10.96.5.10") is None
    assert pod_dns({"dnsPolicy": "None", "dnsConfig": {
        "nameservers": ["192.0.2.1"], "searches": ["a.example"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}},
        "web", "10.96.5.10") == PodDNS(("192.0.2.1",), ("a.example",), ("ndots:2", "edns0"))
    merged = pod_dns({"dnsConfig": {"options": [{"name": "ndots", "value": "1"}]}},
                     "web", "10.96.5.10")
    assert merged is not None and merged.options == ("ndots:1",)
