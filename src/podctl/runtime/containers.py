"""App containers joined to a sandbox: create, start, stop, remove."""

from __future__ import annotations

from typing import Any

from podctl.api.meta import Obj
from podctl.runtime import naming, specs
from podctl.runtime.client import TIMEOUT, docker_api, engine_call, translate_errors


def create_container(
    pod: Obj,
    spec: Obj,
    attempt: int,
    sandbox_id: str,
    ctx: specs.PodContext,
    mounts: list[specs.Mount],
) -> str:
    """Create (not start) an app container in the sandbox's namespaces; returns its id."""
    api = docker_api()
    env = specs.container_env(pod, spec, ctx)
    entrypoint, cmd = specs.entrypoint_and_cmd(spec, env)
    joined = f"container:{sandbox_id}"
    spec_ = pod["spec"]
    pid_mode = ("host" if spec_.get("hostPID")
                else joined if spec_.get("shareProcessNamespace") else None)
    host_config = api.create_host_config(
        network_mode=joined,
        ipc_mode="host" if spec_.get("hostIPC") else joined,
        pid_mode=pid_mode,
        mounts=[_docker_mount(m) for m in mounts] or None,
        **specs.resource_limits(spec),
        **specs.security_options(spec),
    )
    with translate_errors():
        created: dict[str, Any] = api.create_container(
            image=spec["image"],
            name=naming.container_name(pod, spec["name"], attempt),
            entrypoint=entrypoint,
            command=cmd,
            environment=[f"{k}={v}" for k, v in env.items()] or None,
            working_dir=spec.get("workingDir"),
            labels=naming.container_labels(pod, spec, attempt, sandbox_id),
            tty=bool(spec.get("tty")),
            stdin_open=bool(spec.get("stdin")),
            host_config=host_config,
        )
    return str(created["Id"])


def _docker_mount(mount: specs.Mount) -> Any:
    from docker.types import Mount

    return Mount(target=mount.target, source=mount.source, type=mount.kind,
                 read_only=mount.read_only)


def start(container_id: str) -> None:
    engine_call("POST", f"/containers/{container_id}/start")


def stop(container_id: str, grace_seconds: int) -> None:
    """SIGTERM, then SIGKILL after the grace period (0 kills at once). A container that is
    gone (404) or not running (409) has nothing to stop."""
    if grace_seconds <= 0:
        engine_call("POST", f"/containers/{container_id}/kill", allow=(404, 409))
    else:
        engine_call("POST", f"/containers/{container_id}/stop", {"t": str(grace_seconds)},
                    allow=(404, 409), timeout=TIMEOUT + grace_seconds)


def remove(container_id: str) -> None:
    """Force-remove; one already gone (404) or being removed (409) is left alone."""
    engine_call("DELETE", f"/containers/{container_id}", {"force": "1"}, allow=(404, 409))
