"""An app container's create body, written out without the SDK, is the one the SDK's
create_container (which podctl used before) would send for the same container."""

from __future__ import annotations

import json
from typing import Any

import docker
import pytest
from docker.types import Mount as SdkMount

from podctl.runtime import naming, specs
from podctl.runtime.containers import container_config

CTX = specs.PodContext(pod_ip="10.0.0.5", host_ip="172.17.0.1", node_name="node-1")
MOUNTS = [specs.Mount("volume", "podctl-vol-1", "/data", False),
          specs.Mount("bind", "/tmp/cfg", "/etc/cfg", True),
          specs.Mount("bind", "/var/lib/docker/volumes/v/_data/logs", "/logs", False,
                      "scratch", "logs", "/var/lib/docker/volumes/v/_data", engine_creates=True),
          specs.Mount("bind", "/var/lib/docker/volumes/v/_data/etc", "/etc/app", True,
                      "scratch", "etc", "/var/lib/docker/volumes/v/_data", engine_creates=True)]


def pod_with(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "prod", "uid": "u-1", "labels": {"a": "b"}},
            "spec": {"containers": [container], **spec}}


# The SDK's names for the HostConfig fields resource_limits fills.
SDK_LIMITS = {"Memory": "mem_limit", "CpuShares": "cpu_shares", "CpuQuota": "cpu_quota",
              "CpuPeriod": "cpu_period"}


def sdk_body(pod: dict[str, Any], spec: dict[str, Any], mounts: list[specs.Mount]
             ) -> dict[str, Any]:
    """What docker.APIClient.create_container sends, built by the SDK itself (no engine)."""
    api = docker.APIClient(base_url="unix:///nonexistent", version="1.41")
    env = specs.container_env(pod, spec, CTX)
    entrypoint, cmd = specs.entrypoint_and_cmd(spec, env)
    joined = "container:sandbox-1"
    pod_spec = pod["spec"]
    host_config = api.create_host_config(
        network_mode=joined,
        ipc_mode="host" if pod_spec.get("hostIPC") else joined,
        pid_mode=("host" if pod_spec.get("hostPID")
                  else joined if pod_spec.get("shareProcessNamespace") else None),
        mounts=[SdkMount(target=m.target, source=m.source, type=m.kind, read_only=m.read_only)
                for m in mounts if not m.engine_creates] or None,
        binds={m.source: {"bind": m.target, "mode": "ro" if m.read_only else "rw"}
               for m in mounts if m.engine_creates} or None,
        **{SDK_LIMITS[k]: v for k, v in specs.resource_limits(spec).items()},
        **specs.security_options(spec))
    config = api.create_container_config(
        spec["image"], cmd, entrypoint=entrypoint,
        environment=[f"{k}={v}" for k, v in env.items()] or None,
        working_dir=spec.get("workingDir"),
        labels=naming.container_labels(pod, spec, 3, "sandbox-1"),
        tty=bool(spec.get("tty")), stdin_open=bool(spec.get("stdin")), host_config=host_config)
    body: dict[str, Any] = json.loads(json.dumps(config))
    return body


@pytest.mark.parametrize("container,pod_spec,mounts", [
    ({"name": "app", "image": "kubia:1"}, {}, []),
    ({"name": "app", "image": "busybox:1", "command": ["sh", "-c"], "args": ["echo $(A)"],
      "env": [{"name": "A", "value": "1"}], "workingDir": "/w", "stdin": True, "tty": True,
      "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}, "requests": {"cpu": "250m"}},
      "securityContext": {"privileged": True,
                          "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}},
     {"shareProcessNamespace": True}, MOUNTS),
    ({"name": "app", "image": "kubia:1", "args": ["--port", "8080"]},
     {"hostPID": True, "hostIPC": True, "hostNetwork": True}, MOUNTS[:1]),
])
def test_the_body_matches_the_sdk_s(container: dict[str, Any], pod_spec: dict[str, Any],
                                    mounts: list[specs.Mount]) -> None:
    pod = pod_with(container, **pod_spec)
    mine = json.loads(json.dumps(container_config(pod, container, 3, "sandbox-1", CTX, mounts)))
    assert mine == sdk_body(pod, container, mounts)
