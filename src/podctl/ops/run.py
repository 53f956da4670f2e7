"""The pod `kubectl run` builds from its flags."""

from __future__ import annotations

from podctl.api.meta import Obj
from podctl.errors import PodctlError


def pod_manifest(name: str, image: str, port: int | None, labels: str | None, env: list[str],
                 restart: str, pull_policy: str | None, args: list[str], as_command: bool,
                 namespace: str | None) -> Obj:
    container: Obj = {"name": name, "image": image}
    if port is not None:
        container["ports"] = [{"containerPort": port}]
    if env:
        container["env"] = [_env(item) for item in env]
    if pull_policy:
        container["imagePullPolicy"] = pull_policy
    if args:
        container["command" if as_command else "args"] = args
    metadata: Obj = {"name": name, "labels": parse_labels(labels) if labels else {"run": name}}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"containers": [container], "restartPolicy": restart}}


def _env(item: str) -> Obj:
    key, sep, value = item.partition("=")
    if not sep:
        raise PodctlError(f"invalid env: {item}")
    return {"name": key, "value": value}


def parse_labels(text: str) -> dict[str, str]:
    """kubectl's k=v,k2=v2 (labels and equality selectors given as flags)."""
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise PodctlError(f"invalid label spec: {part}")
        out[key] = value
    return out
