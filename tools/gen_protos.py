#!/usr/bin/env python3
"""Generate src/podctl/schemas/k8s-proto.json: the protobuf field numbers of the kinds the API
server serves, from upstream's generated.proto files.

Dev-time only. kubectl's typed clients (`kubectl create deployment|configmap|secret|namespace|
job`, `kubectl run`, `kubectl expose`) send request bodies as application/vnd.kubernetes.protobuf;
the API server decodes them with this table. Inputs: checkouts of k8s.io/api and
k8s.io/apimachinery (any release: field numbers never change).

Usage: python tools/gen_protos.py --api PATH --apimachinery PATH [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

API_FILES = ("core/v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2",
             "policy/v1", "rbac/v1", "authorization/v1", "authentication/v1", "networking/v1")
MACHINERY_FILES = ("pkg/apis/meta/v1", "pkg/api/resource", "pkg/runtime", "pkg/util/intstr")
ROOTS = [f"k8s.io.api.core.v1.{k}" for k in (
    "Pod", "ReplicationController", "Namespace", "Node", "Service", "Endpoints", "ConfigMap",
    "Secret", "Event", "ResourceQuota", "ServiceAccount")] + [
        f"k8s.io.api.apps.v1.{k}" for k in (
        "ReplicaSet", "Deployment", "DaemonSet")] + [
    "k8s.io.api.batch.v1.Job", "k8s.io.api.batch.v1.CronJob",
    "k8s.io.api.policy.v1.PodDisruptionBudget",
    *(f"k8s.io.api.rbac.v1.{k}" for k in ("Role", "ClusterRole", "RoleBinding",
                                          "ClusterRoleBinding")),
    *(f"k8s.io.api.authorization.v1.{k}" for k in (
        "SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview",
        "SelfSubjectRulesReview")),
    "k8s.io.api.authentication.v1.SelfSubjectReview",
    # `kubectl create token` (TokenRequest) and TokenReview (issue 23)
    "k8s.io.api.authentication.v1.TokenRequest", "k8s.io.api.authentication.v1.TokenReview",
    # `kubectl create ingress` (issue 25), and NetworkPolicy beside it
    *(f"k8s.io.api.networking.v1.{k}" for k in ("Ingress", "IngressClass", "NetworkPolicy")),
    "k8s.io.api.autoscaling.v1.Scale",
    # `kubectl autoscale` (issue 24)
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler",
    "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "k8s.io.apimachinery.pkg.runtime.Unknown"]
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "podctl" / "schemas" / \
    "k8s-proto.json"
SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float"}
FIELD = re.compile(r"^\s*(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)")
MAP = re.compile(r"^\s*map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)")


def _type(name: str, package: str) -> str:
    if name in SCALARS:
        return name
    name = name.lstrip(".")
    return name if "." in name else f"{package}.{name}"


def parse(text: str) -> dict[str, dict[str, list[Any]]]:
    """message -> field number -> [json name, label (o, r, m), type or [key, value]]."""
    messages: dict[str, dict[str, list[Any]]] = {}
    package = ""
    current: dict[str, list[Any]] | None = None
    for line in text.splitlines():
        line = line.split("//", 1)[0]
        if line.startswith("package "):
            package = line.split()[1].rstrip(";")
        elif line.startswith("message "):
            current = messages.setdefault(f"{package}.{line.split()[1]}", {})
        elif line.startswith("}"):
            current = None
        elif current is not None:
            field = FIELD.match(line)
            mapped = MAP.match(line)
            if field:
                label, kind, name, number = field.groups()
                current[number] = [name, label[0], _type(kind, package)]
            elif mapped:
                key, value, name, number = mapped.groups()
                current[number] = [name, "m", [_type(key, package), _type(value, package)]]
    return messages


def reachable(messages: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
    out: dict[str, dict[str, list[Any]]] = {}
    wanted = list(ROOTS)
    while wanted:
        name = wanted.pop()
        if name in out or name not in messages:
            continue
        out[name] = messages[name]
        for _, _, kind in messages[name].values():
            for part in kind if isinstance(kind, list) else [kind]:
                if part not in SCALARS:
                    wanted.append(part)
    return dict(sorted(out.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--api", type=Path, required=True, help="a k8s.io/api checkout")
    ap.add_argument("--apimachinery", type=Path, required=True,
                    help="a k8s.io/apimachinery checkout")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    messages: dict[str, dict[str, list[Any]]] = {}
    for base, files in ((args.api, API_FILES), (args.apimachinery, MACHINERY_FILES)):
        for name in files:
            messages.update(parse((base / name / "generated.proto").read_text()))
    table = reachable(messages)
    missing = [r for r in ROOTS if r not in table]
    if missing:
        raise SystemExit(f"not found in the inputs: {missing}")
    text = json.dumps({"messages": table}, separators=(",", ":"))
    args.out.write_text(text + "\n")
    print(f"wrote {args.out} ({len(text)} bytes, {len(table)} messages)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
