"""Pure translation of a pod's container spec into Docker create arguments."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from podctl.api.fieldpath import field_value
from podctl.api.meta import Obj
from podctl.api.quantity import bytes_of, divide_up, millicores
from podctl.runtime.configenv import ConfigObjects, env_from, key_ref_value

_VAR_REF = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


@dataclass(frozen=True)
class PodContext:
    """Runtime facts about a pod that env vars may refer to."""

    pod_ip: str
    host_ip: str
    node_name: str
    service_env: dict[str, str] = field(default_factory=dict)
    # The ConfigMaps and Secrets of the pod's namespace that it refers to, as they are now.
    config: ConfigObjects = field(default_factory=dict)
    allocatable: dict[str, str] = field(default_factory=dict)  # the node's, for limits unset


def link_services(services: list[Obj], namespace: str, enable_links: bool) -> list[Obj]:
    """The Services whose variables a pod gets (getServiceEnvVarMap): those of its namespace
    when service links are on, and `default/kubernetes` always, unless a Service of the
    same name in the pod's namespace takes its place. Services without a cluster IP are
    skipped."""
    chosen: dict[str, Obj] = {}
    for svc in services:
        ip = (svc.get("spec") or {}).get("clusterIP")
        if not ip or ip == "None":
            continue
        name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace")
        if ns == "default" and name == "kubernetes":
            chosen.setdefault(name, svc)
        elif ns == namespace and enable_links:
            chosen[name] = svc
    return list(chosen.values())


def service_env(services: list[Obj]) -> dict[str, str]:
    """Docker-links-style variables for each Service (envvars.FromServices)."""
    env: dict[str, str] = {}
    for svc in services:
        spec = svc["spec"]
        ip, ports = spec["clusterIP"], spec.get("ports") or []
        prefix = svc["metadata"]["name"].upper().replace("-", "_")
        env[f"{prefix}_SERVICE_HOST"] = ip
        if ports:
            env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        for port in ports:
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}"] = \
                    str(port["port"])
        for index, port in enumerate(ports):
            protocol = port.get("protocol", "TCP")
            url = f"{protocol.lower()}://{ip}:{port['port']}"
            if index == 0:
                env[f"{prefix}_PORT"] = url
            link = f"{prefix}_PORT_{port['port']}_{protocol.upper()}"
            env[link] = url
            env[f"{link}_PROTO"] = protocol.lower()
            env[f"{link}_PORT"] = str(port["port"])
            env[f"{link}_ADDR"] = ip
    return env


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes $(VAR) expansion: unknown references stay literal, $$ escapes."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _VAR_REF.sub(sub, text)


def field_ref_value(pod: Obj, path: str, ctx: PodContext) -> str:
    """A fieldRef's value at container start: runtime facts from `ctx`, the rest from the pod."""
    runtime = {"spec.nodeName": ctx.node_name, "status.podIP": ctx.pod_ip,
               "status.podIPs": ctx.pod_ip, "status.hostIP": ctx.host_ip,
               "status.hostIPs": ctx.host_ip}
    return runtime[path] if path in runtime else field_value(pod, path)


def resource_field_value(container: Obj, ref: Obj,
                         allocatable: dict[str, str] | None = None) -> str:
    """ceil(quantity / divisor); a limit the container does not set is the node's
    allocatable amount, as the kubelet fills it in."""
    resource = ref.get("resource", "")
    section, _, name = resource.partition(".")
    value = ((container.get("resources") or {}).get(section) or {}).get(name)
    if value is None and section == "limits":
        value = (allocatable or {}).get(name)
    if value is None:
        return "0"
    return str(divide_up(value, ref.get("divisor") or "1"))


def needs_pod_ip(container: Obj) -> bool:
    """Whether the container's environment refers to the pod IP (known only once it runs)."""
    return any(
        ((var.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        in ("status.podIP", "status.podIPs")
        for var in container.get("env") or []
    )


def container_env(pod: Obj, container: Obj, ctx: PodContext) -> dict[str, str]:
    """The container's environment in order: envFrom's, then env's with $(VAR) references
    expanded (Service variables may be referred to), then the Service variables it does not
    set itself. ConfigError when a ConfigMap, Secret or key it needs is missing."""
    namespace = str((pod.get("metadata") or {}).get("namespace", ""))
    env: dict[str, str] = env_from(namespace, container, ctx.config).env
    for var in container.get("env") or []:
        name = var["name"]
        if "valueFrom" in var:
            source = var["valueFrom"]
            if "configMapKeyRef" in source or "secretKeyRef" in source:
                value = key_ref_value(namespace, source, ctx.config)
                if value is not None:
                    env[name] = value
            elif "fieldRef" in source:
                env[name] = field_ref_value(pod, source["fieldRef"]["fieldPath"], ctx)
            elif "resourceFieldRef" in source:
                env[name] = resource_field_value(container, source["resourceFieldRef"],
                                                 ctx.allocatable)
            else:
                env[name] = ""
        else:
            env[name] = expand(str(var.get("value", "")), {**ctx.service_env, **env})
    for name, value in ctx.service_env.items():
        env.setdefault(name, value)
    return env


@dataclass(frozen=True)
class Mount:
    """A mount for Docker: a named volume or a bind of a host path.

    A mount of a volume's sub-path names its pod volume, the sub-path and the volume's own
    directory (`root`). `engine_creates`: a sub-path of the Docker volume `backing`, bound
    by its path on the engine's host (HostConfig.Binds), where the engine creates what is
    missing."""

    kind: Literal["volume", "bind"]
    source: str
    target: str
    read_only: bool
    volume: str = ""
    sub_path: str = ""
    root: str = ""
    engine_creates: bool = False
    backing: str = ""


@dataclass(frozen=True)
class VolumeSource:
    """Where a pod volume is: a Docker volume (with its directory on the engine's host,
    `mountpoint`) or a host path to bind."""

    kind: Literal["volume", "bind"]
    source: str
    mountpoint: str = ""


VolumeSources = dict[str, VolumeSource]


class SubPathError(Exception):
    """A volumeMount's subPath the kubelet cannot mount (CreateContainerConfigError)."""


def sub_path(mount: Obj, env: dict[str, str]) -> str:
    """The mount's sub-path: subPath, or subPathExpr expanded from the container's
    environment (a variable unset or empty is an error, as ExpandContainerVolumeMounts
    says), checked as the kubelet's makeMounts does; "" for the volume's root."""
    path = str(mount.get("subPath") or "")
    if mount.get("subPathExpr"):
        missing: list[str] = []

        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            value = env.get(match.group(1), "")
            if not value:
                missing.append(match.group(1))
            return value

        path = _VAR_REF.sub(sub, str(mount["subPathExpr"]))
        if missing:
            raise SubPathError(f"missing value for {', '.join(sorted(set(missing)))}")
    if not path:
        return ""
    if path.startswith("/"):
        raise SubPathError(f"error SubPath `{path}` must not be an absolute path")
    if ".." in path.split("/"):
        raise SubPathError(f"unable to provision SubPath `{path}`: must not contain '..'")
    return path


def _join(root: str, sub: str) -> str:
    return posixpath.normpath(posixpath.join(root, sub))


def container_mounts(pod: Obj, container: Obj, volume_sources: VolumeSources,
                     env: dict[str, str] | None = None) -> list[Mount]:
    """Mounts for a container; volume_sources maps a pod volume name to where it is, `env`
    is the container's environment (for subPathExpr). SubPathError for a bad sub-path."""
    mounts = []
    # The kubelet mounts API data (configMap, secret, downwardAPI, projected) read-only,
    # and a claim the pod asks for read-only.
    api_data = {v["name"] for v in (pod.get("spec") or {}).get("volumes") or []
                if {"configMap", "secret", "downwardAPI", "projected"} & v.keys()
                or (v.get("persistentVolumeClaim") or {}).get("readOnly")}
    for vm in container.get("volumeMounts") or []:
        name = vm["name"]
        where = volume_sources[name]
        read_only = bool(vm.get("readOnly")) or name in api_data
        sub = sub_path(vm, env or {})
        if not sub:
            mounts.append(Mount(where.kind, where.source, vm["mountPath"], read_only))
        elif where.kind == "bind":
            mounts.append(Mount("bind", _join(where.source, sub), vm["mountPath"], read_only,
                                name, sub, where.source))
        else:
            mounts.append(Mount("bind", _join(where.mountpoint, sub), vm["mountPath"],
                                read_only, name, sub, where.mountpoint, engine_creates=True,
                                backing=where.source))
    return mounts


CPU_PERIOD = 100_000  # the kubelet's CFS quota period, in microseconds
MIN_SHARES, MIN_QUOTA = 2, 1000  # the kubelet's floors (cm.MinShares, minQuotaPeriod)


def resource_limits(container: Obj) -> dict[str, int]:
    """Docker HostConfig fields for a container's resources, as the kubelet computes its
    cgroup (calculateLinuxResources): shares from the cpu request (the limit when no
    request; the floor when neither), a CFS quota over a 100 ms period from the cpu limit,
    the memory limit. Memory requests set nothing, as upstream without MemoryQoS."""
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    cpu_limit = millicores(limits["cpu"]) if "cpu" in limits else 0
    cpu_request = millicores(requests["cpu"]) if "cpu" in requests else 0
    out = {"CpuShares": max(MIN_SHARES, (cpu_request or cpu_limit) * 1024 // 1000)}
    if cpu_limit:
        out["CpuQuota"] = max(MIN_QUOTA, cpu_limit * CPU_PERIOD // 1000)
        out["CpuPeriod"] = CPU_PERIOD
    if "memory" in limits and bytes_of(limits["memory"]):
        out["Memory"] = bytes_of(limits["memory"])
    return out


def security_options(container: Obj) -> dict[str, Any]:
    """Docker host-config settings for securityContext.capabilities and .privileged.

    Kubernetes names capabilities without the CAP_ prefix (NET_ADMIN); Docker takes
    either spelling, so they pass through as written.
    """
    sc = container.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    out: dict[str, Any] = {}
    if caps.get("add"):
        out["cap_add"] = [str(c) for c in caps["add"]]
    if caps.get("drop"):
        out["cap_drop"] = [str(c) for c in caps["drop"]]
    if sc.get("privileged"):
        out["privileged"] = True
    return out


def entrypoint_and_cmd(container: Obj, env: dict[str, str]
                       ) -> tuple[list[str] | None, list[str] | None]:
    """command replaces ENTRYPOINT, args replace CMD (no shell), both $(VAR)-expanded."""
    command = container.get("command")
    args = container.get("args")
    entry = [expand(str(c), env) for c in command] if command else None
    cmd = [expand(str(a), env) for a in args] if args else None
    return entry, cmd
