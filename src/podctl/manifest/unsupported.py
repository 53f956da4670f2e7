"""Valid Kubernetes fields that podctl accepts but does not honour: one warning each."""

from __future__ import annotations

from typing import Any

from podctl.manifest.problems import FieldPath, format_path

POD_SPEC_FIELDS = (
    "activeDeadlineSeconds",
    "dnsConfig",
    "ephemeralContainers",
    "hostUsers",
    "imagePullSecrets",
    "os",
    "overhead",
    "preemptionPolicy",
    "priority",
    "priorityClassName",
    "readinessGates",
    "resourceClaims",
    "resources",
    "runtimeClassName",
    "setHostnameAsFQDN",
)
POD_SECURITY_FIELDS = (
    "appArmorProfile",
    "fsGroup",
    "fsGroupChangePolicy",
    "seLinuxChangePolicy",
    "seLinuxOptions",
    "seccompProfile",
    "supplementalGroupsPolicy",
    "windowsOptions",
)
CONTAINER_FIELDS = ("resizePolicy", "restartPolicyRules", "volumeDevices")
CONTAINER_SECURITY_FIELDS = (
    "appArmorProfile",
    "procMount",
    "seLinuxOptions",
    "seccompProfile",
    "windowsOptions",
)
SUPPORTED_VOLUME_SOURCES = ("emptyDir", "hostPath", "configMap", "secret", "downwardAPI",
                            "projected", "persistentVolumeClaim", "ephemeral")
SUPPORTED_PROJECTIONS = ("configMap", "secret", "downwardAPI", "serviceAccountToken")
SUPPORTED_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")


def _present(obj: dict[str, Any], key: str) -> bool:
    """A field counts when it is set to something other than null/empty."""
    value = obj.get(key)
    return value is not None and value != [] and value != {}


def _say(out: list[str], path: FieldPath) -> None:
    out.append(f"{format_path(path)} is not supported by podctl and is ignored")


def _container(out: list[str], ctr: dict[str, Any], path: FieldPath) -> None:
    """Warnings for one container."""
    for field in CONTAINER_FIELDS:
        if _present(ctr, field):
            _say(out, (*path, field))
    sc = ctr.get("securityContext")
    if isinstance(sc, dict):
        for field in CONTAINER_SECURITY_FIELDS:
            if _present(sc, field):
                _say(out, (*path, "securityContext", field))
    resources = ctr.get("resources")
    if isinstance(resources, dict) and _present(resources, "claims"):
        _say(out, (*path, "resources", "claims"))
    env = ctr.get("env")
    for i, var in enumerate(env if isinstance(env, list) else []):
        source = var.get("valueFrom") if isinstance(var, dict) else None
        if isinstance(source, dict):
            for key in source:
                if key not in SUPPORTED_ENV_SOURCES and source[key] is not None:
                    _say(out, (*path, "env", i, "valueFrom", key))


def pod_spec_warnings(spec: Any, path: FieldPath) -> list[str]:
    """One line per ignored field of a pod spec at ``path``."""
    out: list[str] = []
    if not isinstance(spec, dict):
        return out
    for field in POD_SPEC_FIELDS:
        if _present(spec, field):
            _say(out, (*path, field))
    sc = spec.get("securityContext")
    if isinstance(sc, dict):
        for field in POD_SECURITY_FIELDS:
            if _present(sc, field):
                _say(out, (*path, "securityContext", field))
    for field in ("initContainers", "containers"):
        items = spec.get(field)
        for i, ctr in enumerate(items if isinstance(items, list) else []):
            if isinstance(ctr, dict):
                _container(out, ctr, (*path, field, i))
    volumes = spec.get("volumes")
    for i, vol in enumerate(volumes if isinstance(volumes, list) else []):
        if isinstance(vol, dict):
            for key, value in vol.items():
                if key != "name" and key not in SUPPORTED_VOLUME_SOURCES and value is not None:
                    _say(out, (*path, "volumes", i, key))
            projected = vol.get("projected")
            sources = projected.get("sources") if isinstance(projected, dict) else None
            for j, source in enumerate(sources if isinstance(sources, list) else []):
                for key in source if isinstance(source, dict) else {}:
                    if key not in SUPPORTED_PROJECTIONS and source[key] is not None:
                        _say(out, (*path, "volumes", i, "projected", "sources", j, key))
    return out


def warnings_for(kind: str, obj: dict[str, Any]) -> list[str]:
    """Warnings for a whole object."""
    spec = obj.get("spec")
    if kind == "Pod":
        return pod_spec_warnings(spec, ("spec",))
    if kind in ("ReplicationController", "ReplicaSet", "Deployment") and isinstance(spec, dict):
        template = spec.get("template")
        if isinstance(template, dict):
            return pod_spec_warnings(template.get("spec"), ("spec", "template", "spec"))
    return []
