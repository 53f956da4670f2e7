"""`podctl create quota`: kubectl's generator of a ResourceQuota."""

from __future__ import annotations

from podctl.api.meta import Obj
from podctl.api.quantity import QUANTITY_REGEX, parse_quantity
from podctl.errors import PodctlError


def build_quota(name: str, hard: str, scopes: str) -> Obj:
    """kubectl's `create quota` generator: `--hard=pods=2,requests.cpu=1` and
    `--scopes=BestEffort,...` as a v1 ResourceQuota."""
    resources: dict[str, str] = {}
    for pair in hard.split(",") if hard else []:
        parts = pair.split("=")
        if len(parts) != 2:
            raise PodctlError(f"Invalid argument syntax {pair}, expected <resource>=<value>")
        key, value = parts
        if parse_quantity(value) is None:
            raise PodctlError(f"quantities must match the regular expression "
                              f"'{QUANTITY_REGEX}'")
        resources[key] = value
    spec: Obj = {"hard": resources} if resources else {}
    scope_list = scopes.split(",") if scopes else []
    if scope_list:
        spec["scopes"] = scope_list
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name},
            "spec": spec}
