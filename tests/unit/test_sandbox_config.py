"""The sandbox's create body, written out without the SDK, is the one the SDK would send."""

from __future__ import annotations

import json
from typing import Any

import docker
import pytest

from podctl.runtime import naming
from podctl.runtime.sandbox import PodDNS, host_port_bindings, pod_hostname, sandbox_config

BASE = {"metadata": {"name": "web", "namespace": "prod", "uid": "u-1", "labels": {"a": "b"}},
        "spec": {"containers": [{"name": "app", "image": "x"}]}}
PORTS = {"containers": [{"name": "app", "image": "x", "ports": [
    {"containerPort": 8080, "hostPort": 9090},
    {"containerPort": 53, "hostPort": 5353, "protocol": "UDP", "hostIP": "127.0.0.1"}]}]}
DNS = PodDNS(("10.96.0.10",), ("prod.svc.cluster.local", "svc.cluster.local"), ("ndots:5",))


def sdk_body(pod: dict[str, Any], image: str, network_id: str | None,
             dns: PodDNS | None, volumes: dict[str, str] | None = None) -> dict[str, Any]:
    """What docker.APIClient.create_container sends, built by the SDK itself (no engine)."""
    api = docker.APIClient(base_url="unix:///nonexistent", version="1.41")
    spec = pod["spec"]
    bindings = {} if network_id is None else host_port_bindings(pod)
    host_config = api.create_host_config(
        network_mode="host" if network_id is None else network_id,
        ipc_mode="host" if spec.get("hostIPC") else "shareable",
        pid_mode="host" if spec.get("hostPID") else None,
        port_bindings=bindings or None,
        cpu_shares=2,
        init=False,
        dns=list(dns.nameservers) if dns and dns.nameservers else None,
        dns_search=list(dns.searches) if dns and dns.searches else None,
        dns_opt=list(dns.options) if dns and dns.options else None,
        mounts=[docker.types.Mount(target, name) for target, name in (volumes or {}).items()]
        or None,
    )
    networking = (None if network_id is None else
                  api.create_networking_config({network_id: api.create_endpoint_config()}))
    config = api.create_container_config(
        image, None, None if network_id is None else pod_hostname(pod),
        labels=naming.sandbox_labels(pod, 2),
        ports=[tuple(k.split("/")) for k in bindings] or None,
        host_config=host_config, networking_config=networking, stop_signal="SIGTERM")
    body: dict[str, Any] = json.loads(json.dumps(config))
    return body


@pytest.mark.parametrize("spec,network_id,dns", [
    ({}, "net-1", None),
    (PORTS, "net-1", DNS),
    ({"hostNetwork": True, "hostPID": True, "hostIPC": True}, None, None),
    ({**PORTS, "hostNetwork": True}, None, DNS),
])
def test_the_body_matches_the_sdk_s(spec: dict[str, Any], network_id: str | None,
                                    dns: PodDNS | None) -> None:
    pod = {**BASE, "spec": {**BASE["spec"], **spec}}
    mine = json.loads(json.dumps(sandbox_config(pod, 2, "pause:1", network_id, dns)))
    assert mine == sdk_body(pod, "pause:1", network_id, dns)


def test_the_sandbox_mounts_the_pod_s_empty_dirs_as_the_sdk_would() -> None:
    volumes = {"/.podctl/volumes/cache": "podctl_u-1_cache",
               "/.podctl/volumes/tmp": "podctl_u-1_tmp"}
    mine = json.loads(json.dumps(sandbox_config(BASE, 2, "pause:1", "net-1", None, volumes)))
    assert mine == sdk_body(BASE, "pause:1", "net-1", None, volumes)
