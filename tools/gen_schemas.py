#!/usr/bin/env python3
"""Generate src/podctl/schemas/k8s-core-v1.json from the Kubernetes OpenAPI-derived JSON schema.

Dev-time only. Input: the ``_definitions.json`` of one Kubernetes minor version as shipped by
PyPI's ``kubernetes-validate`` package (``pip install kubernetes-validate``). Outputs:

- a compact validation schema holding only the definitions that Pod, ReplicationController,
  Namespace, Service, Endpoints, ConfigMap, Secret, apps/v1 ReplicaSet and Deployment,
  batch/v1 Job and CronJob, and List need (no prose, so validation loads fast);
- next to it, ``k8s-core-v1-explain.json``: the upstream descriptions of every field reachable
  from EXPLAIN_ROOTS, with kubectl's type names, for ``podctl explain``. More kinds: list them.

Usage: python tools/gen_schemas.py [--version 1.37.0] [--definitions PATH] [--out PATH]
       [--explain-out PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOTS = {
    "Pod": "io.k8s.api.core.v1.Pod",
    "ReplicationController": "io.k8s.api.core.v1.ReplicationController",
    "Namespace": "io.k8s.api.core.v1.Namespace",
    "Service": "io.k8s.api.core.v1.Service",
    "Endpoints": "io.k8s.api.core.v1.Endpoints",
    # configuration objects (issue 12)
    "ConfigMap": "io.k8s.api.core.v1.ConfigMap",
    "Secret": "io.k8s.api.core.v1.Secret",
    "ReplicaSet": "io.k8s.api.apps.v1.ReplicaSet",
    "Deployment": "io.k8s.api.apps.v1.Deployment",
    "DaemonSet": "io.k8s.api.apps.v1.DaemonSet",
    "StatefulSet": "io.k8s.api.apps.v1.StatefulSet",
    "ControllerRevision": "io.k8s.api.apps.v1.ControllerRevision",
    "Job": "io.k8s.api.batch.v1.Job",
    "CronJob": "io.k8s.api.batch.v1.CronJob",
    "PodDisruptionBudget": "io.k8s.api.policy.v1.PodDisruptionBudget",
    # storage (issue 22)
    "PersistentVolume": "io.k8s.api.core.v1.PersistentVolume",
    "PersistentVolumeClaim": "io.k8s.api.core.v1.PersistentVolumeClaim",
    "StorageClass": "io.k8s.api.storage.v1.StorageClass",
    # identity (issue 23)
    "ServiceAccount": "io.k8s.api.core.v1.ServiceAccount",
    # RBAC (issue 23)
    "Role": "io.k8s.api.rbac.v1.Role",
    "ClusterRole": "io.k8s.api.rbac.v1.ClusterRole",
    "RoleBinding": "io.k8s.api.rbac.v1.RoleBinding",
    "ClusterRoleBinding": "io.k8s.api.rbac.v1.ClusterRoleBinding",
    # quotas and limits (issue 23)
    "ResourceQuota": "io.k8s.api.core.v1.ResourceQuota",
    "LimitRange": "io.k8s.api.core.v1.LimitRange",
    # network policy (issue 23)
    "NetworkPolicy": "io.k8s.api.networking.v1.NetworkPolicy",
    # autoscaling (issue 24)
    "HorizontalPodAutoscaler": "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
    # leader election writes Leases through the API (issue 24)
    "Lease": "io.k8s.api.coordination.v1.Lease",
    # ingress (issue 25)
    "Ingress": "io.k8s.api.networking.v1.Ingress",
    "IngressClass": "io.k8s.api.networking.v1.IngressClass",
    # the API decodes node writes and the scale subresource's body by the same walk
    "Node": "io.k8s.api.core.v1.Node",
    "Scale": "io.k8s.api.autoscaling.v1.Scale",
    # custom resources (issue 24)
    "CustomResourceDefinition":
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
}
# Kinds `podctl explain` documents: kind -> (group/version, definition).
EXPLAIN_ROOTS = {
    "Pod": ("v1", "io.k8s.api.core.v1.Pod"),
    "ReplicationController": ("v1", "io.k8s.api.core.v1.ReplicationController"),
    "Namespace": ("v1", "io.k8s.api.core.v1.Namespace"),
    "Node": ("v1", "io.k8s.api.core.v1.Node"),
    "Event": ("v1", "io.k8s.api.core.v1.Event"),
    "Service": ("v1", "io.k8s.api.core.v1.Service"),
    "Endpoints": ("v1", "io.k8s.api.core.v1.Endpoints"),
    # configuration objects (issue 12)
    "ConfigMap": ("v1", "io.k8s.api.core.v1.ConfigMap"),
    "Secret": ("v1", "io.k8s.api.core.v1.Secret"),
    "ReplicaSet": ("apps/v1", "io.k8s.api.apps.v1.ReplicaSet"),
    "Deployment": ("apps/v1", "io.k8s.api.apps.v1.Deployment"),
    "DaemonSet": ("apps/v1", "io.k8s.api.apps.v1.DaemonSet"),
    "StatefulSet": ("apps/v1", "io.k8s.api.apps.v1.StatefulSet"),
    "ControllerRevision": ("apps/v1", "io.k8s.api.apps.v1.ControllerRevision"),
    "Job": ("batch/v1", "io.k8s.api.batch.v1.Job"),
    "CronJob": ("batch/v1", "io.k8s.api.batch.v1.CronJob"),
    "PodDisruptionBudget": ("policy/v1", "io.k8s.api.policy.v1.PodDisruptionBudget"),
    # RBAC (issue 23)
    "Role": ("rbac.authorization.k8s.io/v1", "io.k8s.api.rbac.v1.Role"),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", "io.k8s.api.rbac.v1.ClusterRole"),
    "RoleBinding": ("rbac.authorization.k8s.io/v1", "io.k8s.api.rbac.v1.RoleBinding"),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1",
                           "io.k8s.api.rbac.v1.ClusterRoleBinding"),
    "SelfSubjectReview": ("authentication.k8s.io/v1",
                          "io.k8s.api.authentication.v1.SelfSubjectReview"),
    **{kind: ("authorization.k8s.io/v1", f"io.k8s.api.authorization.v1.{kind}") for kind in (
        "LocalSubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview",
        "SubjectAccessReview")},
    "EndpointSlice": ("discovery.k8s.io/v1", "io.k8s.api.discovery.v1.EndpointSlice"),
    # node heartbeats (issue 21)
    "Lease": ("coordination.k8s.io/v1", "io.k8s.api.coordination.v1.Lease"),
    # storage (issue 22)
    "PersistentVolume": ("v1", "io.k8s.api.core.v1.PersistentVolume"),
    "PersistentVolumeClaim": ("v1", "io.k8s.api.core.v1.PersistentVolumeClaim"),
    "StorageClass": ("storage.k8s.io/v1", "io.k8s.api.storage.v1.StorageClass"),
    # identity (issue 23)
    "ServiceAccount": ("v1", "io.k8s.api.core.v1.ServiceAccount"),
    "TokenReview": ("authentication.k8s.io/v1", "io.k8s.api.authentication.v1.TokenReview"),
    # quotas and limits (issue 23)
    "ResourceQuota": ("v1", "io.k8s.api.core.v1.ResourceQuota"),
    "LimitRange": ("v1", "io.k8s.api.core.v1.LimitRange"),
    # network policy (issue 23)
    "NetworkPolicy": ("networking.k8s.io/v1", "io.k8s.api.networking.v1.NetworkPolicy"),
    # ingress (issue 25)
    "Ingress": ("networking.k8s.io/v1", "io.k8s.api.networking.v1.Ingress"),
    "IngressClass": ("networking.k8s.io/v1", "io.k8s.api.networking.v1.IngressClass"),
    # custom resources (issue 24)
    "CustomResourceDefinition": (
        "apiextensions.k8s.io/v1",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"),
    # autoscaling (issue 24)
    "HorizontalPodAutoscaler": ("autoscaling/v2",
                                "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"),
}
EXPLAIN_NAME = "k8s-core-v1-explain.json"
# The API server's /openapi/v2 and /openapi/v3 (kubectl explain, apply and its check that
# the server validates fields itself): upstream definitions reachable from these.
OPENAPI_NAME = "k8s-openapi.json"
OPENAPI_EXTRA = (
    "io.k8s.api.autoscaling.v1.Scale",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "io.k8s.api.core.v1.PodList", "io.k8s.api.core.v1.ReplicationControllerList",
    "io.k8s.api.core.v1.NamespaceList", "io.k8s.api.core.v1.NodeList",
    "io.k8s.api.core.v1.EventList", "io.k8s.api.core.v1.ServiceList",
    "io.k8s.api.core.v1.EndpointsList", "io.k8s.api.core.v1.ConfigMapList",
    "io.k8s.api.core.v1.SecretList", "io.k8s.api.apps.v1.ReplicaSetList",
    "io.k8s.api.apps.v1.DeploymentList", "io.k8s.api.apps.v1.DaemonSetList",
    "io.k8s.api.apps.v1.StatefulSetList", "io.k8s.api.apps.v1.ControllerRevisionList",
    "io.k8s.api.batch.v1.JobList", "io.k8s.api.batch.v1.CronJobList",
    "io.k8s.api.discovery.v1.EndpointSliceList",
    "io.k8s.api.coordination.v1.LeaseList",
    "io.k8s.api.policy.v1.PodDisruptionBudgetList",
    "io.k8s.api.core.v1.PersistentVolumeList", "io.k8s.api.core.v1.PersistentVolumeClaimList",
    "io.k8s.api.storage.v1.StorageClassList",
    "io.k8s.api.core.v1.ServiceAccountList",
    "io.k8s.api.rbac.v1.RoleList", "io.k8s.api.rbac.v1.ClusterRoleList",
    "io.k8s.api.rbac.v1.RoleBindingList", "io.k8s.api.rbac.v1.ClusterRoleBindingList",
    "io.k8s.api.core.v1.ResourceQuotaList", "io.k8s.api.core.v1.LimitRangeList",
    "io.k8s.api.networking.v1.NetworkPolicyList",
    "io.k8s.api.networking.v1.IngressList", "io.k8s.api.networking.v1.IngressClassList",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionList",
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerList",
    # autoscaling/v1: the v2 objects in v1's shape (podctl.api.hpav1)
    "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
    "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerList",
    # events.k8s.io/v1: the core Events in that group version's shape (issue 24)
    "io.k8s.api.events.v1.Event", "io.k8s.api.events.v1.EventList",
)
# Upstream writes these as strings of a format; the JSON schema spells them as oneOf.
OPENAPI_FORMATS = {"io.k8s.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
                   "io.k8s.apimachinery.pkg.api.resource.Quantity": ""}
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
# Definitions with a special decoding rule get a primitive type instead of a definition.
PRIMITIVE_DEFS = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "string",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "string",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "any",
    "io.k8s.apimachinery.pkg.runtime.RawExtension": "object",  # any JSON object
}
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src/podctl/schemas/k8s-core-v1.json"


def short_name(ref: str) -> str:
    """Turn 'io.k8s.api.core.v1.PodSpec' into 'PodSpec' (meta types keep a 'meta.' prefix,
    other API groups their group: 'apps.ReplicaSetSpec')."""
    if ref.startswith("io.k8s.api.core.v1."):
        return ref.removeprefix("io.k8s.api.core.v1.")
    for group in ("apps", "batch", "discovery", "autoscaling", "policy", "storage", "rbac",
                  "authorization", "authentication", "networking"):
        if ref.startswith(f"io.k8s.api.{group}.v1."):
            return f"{group}." + ref.removeprefix(f"io.k8s.api.{group}.v1.")
    if ref.startswith("io.k8s.apimachinery.pkg.apis.meta.v1."):
        return "meta." + ref.removeprefix("io.k8s.apimachinery.pkg.apis.meta.v1.")
    return ref


def ref_target(node: dict[str, Any]) -> str | None:
    """The definition name a ``$ref`` points at, or None."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            return ref_target(all_of[0])
        return None
    return ref.rsplit("/", 1)[-1]


def base_type(node: dict[str, Any]) -> str | None:
    """The non-null JSON type of a schema node."""
    t = node.get("type")
    if isinstance(t, list):
        rest = [x for x in t if x != "null"]
        return rest[0] if len(rest) == 1 else None
    return t if isinstance(t, str) else None


class Converter:
    """Converts OpenAPI definitions into the compact podctl form, collecting the closure."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.out: dict[str, Any] = {}

    def type_of(self, node: dict[str, Any]) -> Any:
        """Compact type of one schema node."""
        target = ref_target(node)
        if target is not None:
            if target in PRIMITIVE_DEFS:
                return PRIMITIVE_DEFS[target]
            self.define(target)
            return short_name(target)
        bt = base_type(node)
        fmt = node.get("format")
        if bt == "array":
            items = node.get("items", {})
            return ["array", self.type_of(items if isinstance(items, dict) else {})]
        if bt == "object":
            extra = node.get("additionalProperties")
            if isinstance(extra, dict):
                return ["map", self.type_of(extra)]
            if "properties" in node:
                raise SystemExit(f"inline struct not supported: {node}")
            return "object"
        if bt == "integer":
            return "int64" if fmt == "int64" else "int32"
        if bt in ("string", "number", "boolean"):
            return bt
        if "oneOf" in node:
            kinds = {base_type(x) for x in node["oneOf"] if isinstance(x, dict)}
            if kinds == {"string", "integer"}:
                return "int-or-string"
            if kinds == {"string", "number"}:
                return "quantity"
        return "any"

    def define(self, name: str) -> None:
        """Add definition ``name`` (and everything it refers to) to the output."""
        key = short_name(name)
        if key in self.out:
            return
        node = self.defs[name]
        self.out[key] = {}  # placeholder against cycles
        props = node.get("properties")
        if not isinstance(props, dict):
            self.out[key] = {"type": self.type_of(node)}
            return
        entry: dict[str, Any] = {
            "properties": {f: self.type_of(v) for f, v in sorted(props.items())},
        }
        required = node.get("required")
        if required:
            entry["required"] = sorted(required)
        self.out[key] = entry


class ExplainCollector:
    """Collects descriptions and kubectl's type names for the closure of the explain roots.

    A definition becomes ``{"description", "required", "fields"}`` where each field is
    ``[type, description]`` or ``[type, description, definition]`` when it (or its array item
    or map value) refers to a definition that explain can descend into or describe.
    """

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.out: dict[str, Any] = {}

    def type_guess(self, node: dict[str, Any]) -> str:
        """The type name kubectl explain shows: `string`, `[]Container`, `map[string]string`."""
        target = ref_target(node)
        if target is not None:
            ref = self.defs[target]
            bt = base_type(ref)
            if bt is None or bt == "object" or "properties" in ref:
                return target.rsplit(".", 1)[-1]
            return bt
        bt = base_type(node)
        items = node.get("items")
        if isinstance(items, dict):
            return "[]" + self.type_guess(items)
        if bt == "array":
            return "array"
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return "map[string]" + self.type_guess(extra)
        if bt is None or bt == "object":
            return "Object"
        return bt

    def element_ref(self, node: dict[str, Any]) -> str | None:
        """The definition a field stands for, through arrays and maps."""
        target = ref_target(node)
        if target is not None:
            return target
        for key in ("items", "additionalProperties"):
            inner = node.get(key)
            if isinstance(inner, dict):
                return self.element_ref(inner)
        return None

    def define(self, name: str) -> str:
        key = short_name(name)
        if key in self.out:
            return key
        node = self.defs[name]
        entry: dict[str, Any] = {}
        self.out[key] = entry  # placeholder against cycles
        if node.get("description"):
            entry["description"] = node["description"]
        if node.get("required"):
            entry["required"] = sorted(node["required"])
        props = node.get("properties")
        if isinstance(props, dict):
            fields: dict[str, list[str]] = {}
            for field, spec in sorted(props.items()):
                row = [self.type_guess(spec), str(spec.get("description", ""))]
                target = self.element_ref(spec)
                if target is not None:
                    row.append(self.define(target))
                fields[field] = row
            entry["fields"] = fields
        return key


def explain_bundle(defs: dict[str, Any], version: str) -> dict[str, Any]:
    """The explain descriptions of EXPLAIN_ROOTS and everything they reach."""
    collector = ExplainCollector(defs)
    kinds = {
        kind: {"version": group_version, "definition": collector.define(name)}
        for kind, (group_version, name) in EXPLAIN_ROOTS.items()
    }
    return {
        "kubernetesVersion": version,
        "source": f"kubernetes-validate v{version}-local-strict/_definitions.json",
        "kinds": kinds,
        "definitions": dict(sorted(collector.out.items())),
    }


def _openapi_node(node: Any, top: bool = False) -> Any:
    """A JSON-schema node back in OpenAPI form: plain types, component refs, no strictness."""
    if isinstance(node, list):
        return [_openapi_node(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = "#/components/schemas/" + value.rsplit("/", 1)[-1]
        elif key == "type" and isinstance(value, list):
            kinds = [v for v in value if v != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "additionalProperties" and value is False:
            continue
        elif key == "properties" and isinstance(value, dict):
            props = {}
            for name, prop in value.items():
                converted = _openapi_node(prop)
                if top and name in ("apiVersion", "kind"):
                    converted.pop("enum", None)  # strict-schema addition, not upstream's
                props[name] = converted
            out[key] = props
        else:
            out[key] = _openapi_node(value)
    return out


def openapi_bundle(defs: dict[str, Any], version: str) -> dict[str, Any]:
    """Upstream definitions reachable from the served kinds, in OpenAPI v3 component form
    (with descriptions and the x-kubernetes-* extensions kubectl and patches read)."""
    wanted = [name for _, name in EXPLAIN_ROOTS.values()] + list(OPENAPI_EXTRA)
    seen: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        node = defs[name]
        if name in OPENAPI_FORMATS:
            converted: dict[str, Any] = {"type": "string"}
            if OPENAPI_FORMATS[name]:
                converted["format"] = OPENAPI_FORMATS[name]
            if "description" in node:
                converted["description"] = node["description"]
            seen[name] = converted
            continue
        seen[name] = _openapi_node(node, top=True)
        wanted += [ref for ref in set(_refs(node)) if ref not in seen]
    return {"kubernetesVersion": version, "schemas": dict(sorted(seen.items()))}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"].rsplit("/", 1)[-1]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def find_definitions(version: str) -> Path:
    """Locate ``_definitions.json`` of the installed kubernetes-validate package."""
    try:
        import kubernetes_validate  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise SystemExit(
            "pip install kubernetes-validate (dev-time input) or pass --definitions"
        ) from None
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    path = base / f"v{version}-local-strict" / "_definitions.json"
    if not path.exists():
        raise SystemExit(f"{path} not found; available: {sorted(p.name for p in base.iterdir())}")
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--version", default="1.37.0")
    ap.add_argument("--definitions", type=Path)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--explain-out", type=Path,
                    help=f"default: {EXPLAIN_NAME} next to --out")
    ap.add_argument("--openapi-out", type=Path,
                    help=f"default: {OPENAPI_NAME} next to --out")
    args = ap.parse_args(argv)
    src = args.definitions or find_definitions(args.version)
    raw = json.loads(src.read_text())
    defs = raw.get("$defs") or raw.get("definitions")
    conv = Converter(defs)
    kinds = {}
    for kind, name in ROOTS.items():
        conv.define(name)
        kinds[kind] = short_name(name)
    conv.define(LIST_META)
    conv.out["List"] = {
        "properties": {
            "apiVersion": "string",
            "items": ["array", "object"],
            "kind": "string",
            "metadata": short_name(LIST_META),
        }
    }
    kinds["List"] = "List"
    doc = {
        "kubernetesVersion": args.version,
        "source": f"kubernetes-validate v{args.version}-local-strict/_definitions.json",
        "kinds": kinds,
        "definitions": dict(sorted(conv.out.items())),
    }
    text = json.dumps(doc, separators=(",", ":"), sort_keys=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"wrote {args.out} ({len(text)} bytes, {len(conv.out)} definitions)", file=sys.stderr)
    explain = explain_bundle(defs, args.version)
    explain_out = args.explain_out or args.out.with_name(EXPLAIN_NAME)
    text = json.dumps(explain, separators=(",", ":"))
    explain_out.write_text(text + "\n")
    print(f"wrote {explain_out} ({len(text)} bytes, {len(explain['definitions'])} definitions)",
          file=sys.stderr)
    openapi = openapi_bundle(defs, args.version)
    openapi_out = args.openapi_out or args.out.with_name(OPENAPI_NAME)
    text = json.dumps(openapi, separators=(",", ":"))
    openapi_out.write_text(text + "\n")
    print(f"wrote {openapi_out} ({len(text)} bytes, {len(openapi['schemas'])} schemas)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
