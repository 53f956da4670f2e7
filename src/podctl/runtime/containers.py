"""App containers joined to a sandbox: create, start, stop, remove."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podctl.api.meta import Obj
from podctl.runtime import naming
from podctl.runtime.client import TIMEOUT, create_body, engine_call

if TYPE_CHECKING:
    from podctl.runtime import specs


def create_container(
    pod: Obj,
    spec: Obj,
    attempt: int,
    sandbox_id: str,
    ctx: specs.PodContext,
    mounts: list[specs.Mount],
) -> str:
    """Create (not start) an app container in the sandbox's namespaces; returns its id.

    The pod's own container of that name, created but never started (its kubelet died in
    between: the plan then asks for that attempt again), is removed and made again."""
    name = naming.container_name(pod, spec["name"], attempt)
    config = container_config(pod, spec, attempt, sandbox_id, ctx, mounts)
    created = engine_call("POST", "/containers/create", {"name": name}, config, allow=(409,))
    if created is None:
        found = engine_call("GET", f"/containers/{name}/json", allow=(404,)) or {}
        labels = (found.get("Config") or {}).get("Labels") or {}
        if labels.get(naming.POD_UID) == pod["metadata"]["uid"] and \
                (found.get("State") or {}).get("Status") == "created":
            engine_call("DELETE", f"/containers/{found['Id']}", {"force": "1"}, allow=(404,))
        # Made now, or the engine's conflict for a container that is not such a leftover.
        created = engine_call("POST", "/containers/create", {"name": name}, config)
    return str(created["Id"])


def container_config(pod: Obj, spec: Obj, attempt: int, sandbox_id: str,
                     ctx: specs.PodContext, mounts: list[specs.Mount]) -> dict[str, Any]:
    """The Engine API's create body for an app container, as the SDK's create_container
    would send it (tests/unit/test_container_config.py compares the two).

    Written out so that starting a pod never waits for the SDK's import (requests and
    urllib3, ~90 ms of a 2-container pod's create) nor its version handshake.
    """
    from podctl.runtime import specs

    env = specs.container_env(pod, spec, ctx)
    entrypoint, cmd = specs.entrypoint_and_cmd(spec, env)
    joined = f"container:{sandbox_id}"
    pod_spec = pod["spec"]
    host_config: dict[str, Any] = {
        "NetworkMode": joined,
        "IpcMode": "host" if pod_spec.get("hostIPC") else joined,
    }
    if pod_spec.get("hostPID"):
        host_config["PidMode"] = "host"
    elif pod_spec.get("shareProcessNamespace"):
        host_config["PidMode"] = joined
    host_config.update(specs.resource_limits(spec))
    security = specs.security_options(spec)
    for key, field in (("CapAdd", "cap_add"), ("CapDrop", "cap_drop"),
                       ("Privileged", "privileged")):
        if field in security:
            host_config[key] = security[field]
    # A Docker volume's sub-path is a legacy bind, the one form the engine creates when
    # missing (runtime.subpaths).
    binds = [f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}"
             for m in mounts if m.engine_creates]
    if binds:
        host_config["Binds"] = binds
    typed = [m for m in mounts if not m.engine_creates]
    if typed:
        host_config["Mounts"] = [
            {"Target": m.target, "Source": m.source, "Type": m.kind, "ReadOnly": m.read_only}
            for m in typed]
    stdin = bool(spec.get("stdin"))
    return create_body(
        Tty=bool(spec.get("tty")), OpenStdin=stdin, StdinOnce=stdin, AttachStdin=stdin,
        Env=[f"{k}={v}" for k, v in env.items()] or None, Cmd=cmd, Image=spec["image"],
        Entrypoint=entrypoint, WorkingDir=spec.get("workingDir"), HostConfig=host_config,
        Labels=naming.container_labels(pod, spec, attempt, sandbox_id))


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
