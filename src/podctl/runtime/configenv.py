"""Environment from ConfigMaps and Secrets, as the kubelet builds it at container creation
(makeEnvironmentVariables): envFrom sources in order, then env's configMapKeyRef and
secretKeyRef. Pure: the objects are given, looked up by (kind, name) in the pod's namespace."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from podctl.api.meta import Obj
from podctl.manifest.names import env_var_name

# (kind, name) -> the ConfigMap or Secret of the pod's namespace
ConfigObjects = dict[tuple[str, str], Obj]


class ConfigError(Exception):
    """A referenced ConfigMap, Secret or key is missing: CreateContainerConfigError."""


@dataclass
class EnvFromResult:
    """Variables from envFrom, and the kubelet's warning for each source with keys that are
    not environment variable names (they are skipped)."""

    env: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


_WORDS = {"ConfigMap": ("configMapRef", "configmap", "configMap"),
          "Secret": ("secretRef", "secret", "secret")}


def _values(obj: Obj) -> dict[str, str]:
    """A ConfigMap's data, or a Secret's decoded data (as text, as env carries it)."""
    if obj["kind"] == "ConfigMap":
        return {k: str(v) for k, v in (obj.get("data") or {}).items()}
    out = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(str(value)).decode(errors="replace")
        except (binascii.Error, ValueError):
            out[key] = ""
    return out


def _get(objects: ConfigObjects, kind: str, name: str, optional: bool) -> Obj | None:
    obj = objects.get((kind, name))
    if obj is None and not optional:
        raise ConfigError(f'{_WORDS[kind][1]} "{name}" not found')
    return obj


def env_from(namespace: str, container: Obj, objects: ConfigObjects) -> EnvFromResult:
    """Every key of every envFrom source, prefixed; later sources win."""
    result = EnvFromResult()
    for source in container.get("envFrom") or []:
        for kind, (ref_field, word, _) in _WORDS.items():
            ref = source.get(ref_field)
            if ref is None:
                continue
            name = str(ref.get("name", ""))
            obj = _get(objects, kind, name, bool(ref.get("optional")))
            if obj is None:
                continue
            invalid = []
            for key, value in _values(obj).items():
                full = str(source.get("prefix") or "") + key
                if env_var_name(full):
                    invalid.append(full)
                    continue
                result.env[full] = value
            if invalid:
                result.warnings.append(
                    f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {word} "
                    f"{namespace}/{name} were skipped since they are considered invalid "
                    "environment variable names.")
    return result


def key_ref_value(namespace: str, value_from: Obj, objects: ConfigObjects) -> str | None:
    """The value of a configMapKeyRef or secretKeyRef; None when optional and missing."""
    for kind, ref_field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
        ref = value_from.get(ref_field)
        if ref is None:
            continue
        name, key, optional = str(ref.get("name", "")), str(ref["key"]), bool(
            ref.get("optional"))
        obj = _get(objects, kind, name, optional)
        if obj is None:
            return None
        values = _values(obj)
        if key not in values:
            if optional:
                return None
            raise ConfigError(f"couldn't find key {key} in {kind} {namespace}/{name}")
        return values[key]
    return None


def references(pod: Obj) -> set[tuple[str, str]]:
    """The (kind, name) of every ConfigMap and Secret the pod's containers and volumes use."""
    found: set[tuple[str, str]] = set()
    spec = pod.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                found.add(("ConfigMap", str(source["configMapRef"].get("name", ""))))
            if "secretRef" in source:
                found.add(("Secret", str(source["secretRef"].get("name", ""))))
        for var in container.get("env") or []:
            value_from = var.get("valueFrom") or {}
            if "configMapKeyRef" in value_from:
                found.add(("ConfigMap", str(value_from["configMapKeyRef"].get("name", ""))))
            if "secretKeyRef" in value_from:
                found.add(("Secret", str(value_from["secretKeyRef"].get("name", ""))))
    for volume in spec.get("volumes") or []:
        if "configMap" in volume:
            found.add(("ConfigMap", str(volume["configMap"].get("name", ""))))
        if "secret" in volume:
            found.add(("Secret", str(volume["secret"].get("secretName", ""))))
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in source:
                found.add(("ConfigMap", str(source["configMap"].get("name", ""))))
            if "secret" in source:
                found.add(("Secret", str(source["secret"].get("name", ""))))
    return found
