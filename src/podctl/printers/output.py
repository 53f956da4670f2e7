"""`-o` formats shared by every kind: table, wide, json, yaml, name, jsonpath, custom-columns."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from podctl.api import meta
from podctl.api.labels import format_labels
from podctl.api.meta import Obj
from podctl.errors import PodctlError
from podctl.printers.age import age
from podctl.printers.table import render_table

RowFn = Callable[[Obj, datetime, bool], list[str]]

FORMATS = ("wide", "json", "yaml", "name", "jsonpath", "jsonpath-as-json", "custom-columns")


class OutputError(PodctlError):
    pass


def _namespace_row(obj: Obj, now: datetime, wide: bool) -> list[str]:
    phase = (obj.get("status") or {}).get("phase") or "Active"
    return [meta.name_of(obj), phase, age(obj["metadata"].get("creationTimestamp"), now)]


# Each kind's columns and row function, by module and names: a printer module is imported only
# when its kind is printed, so `get pods` does not load every kind's printers (and the describe
# layouts they share), a third of its start-up.
_TABLES: dict[str, tuple[str, str, str | None, str]] = {
    "Pod": ("pods", "POD_HEADERS", "POD_WIDE_HEADERS", "pod_row"),
    "ReplicationController": ("controllers", "RC_HEADERS", "RC_WIDE_HEADERS", "rc_row"),
    "ReplicaSet": ("controllers", "RC_HEADERS", "RC_WIDE_HEADERS", "rc_row"),
    "Deployment": ("controllers", "DEPLOY_HEADERS", "RC_WIDE_HEADERS", "deployment_row"),
    "DaemonSet": ("daemonsets", "DS_HEADERS", "DS_WIDE_HEADERS", "daemon_set_row"),
    "StatefulSet": ("statefulsets", "STS_HEADERS", "STS_WIDE_HEADERS", "stateful_set_row"),
    "ControllerRevision": ("statefulsets", "REVISION_HEADERS", None,
                           "controller_revision_row"),
    "Node": ("controllers", "NODE_HEADERS", "NODE_WIDE_HEADERS", "node_row"),
    "Event": ("controllers", "EVENT_HEADERS", None, "event_row"),
    "Service": ("services", "SERVICE_HEADERS", "SERVICE_WIDE_HEADERS", "service_row"),
    "Endpoints": ("services", "ENDPOINTS_HEADERS", None, "endpoints_row"),
    "EndpointSlice": ("services", "ENDPOINTSLICE_HEADERS", None, "endpoint_slice_row"),
    "ConfigMap": ("config", "CONFIGMAP_HEADERS", None, "configmap_row"),
    "Secret": ("config", "SECRET_HEADERS", None, "secret_row"),
    "Job": ("batch", "JOB_HEADERS", "JOB_WIDE_HEADERS", "job_row"),
    "CronJob": ("batch", "CRONJOB_HEADERS", "CRONJOB_WIDE_HEADERS", "cronjob_row"),
    "Lease": ("controllers", "LEASE_HEADERS", None, "lease_row"),
    "PodDisruptionBudget": ("policy", "PDB_HEADERS", None, "pdb_row"),
    "NetworkPolicy": ("networking", "NETPOL_HEADERS", None, "netpol_row"),
    "Ingress": ("networking", "INGRESS_HEADERS", None, "ingress_row"),
    "IngressClass": ("networking", "INGRESSCLASS_HEADERS", None, "ingressclass_row"),
    "PersistentVolume": ("storage", "PV_HEADERS", "VOLUME_WIDE_HEADERS", "pv_row"),
    "PersistentVolumeClaim": ("storage", "PVC_HEADERS", "VOLUME_WIDE_HEADERS", "pvc_row"),
    "StorageClass": ("storage", "SC_HEADERS", None, "sc_row"),
    "ServiceAccount": ("identity", "SA_HEADERS", None, "sa_row"),
    "Role": ("rbac", "ROLE_HEADERS", None, "role_row"),
    "ClusterRole": ("rbac", "ROLE_HEADERS", None, "role_row"),
    "RoleBinding": ("rbac", "BINDING_HEADERS", "BINDING_WIDE_HEADERS", "binding_row"),
    "ClusterRoleBinding": ("rbac", "BINDING_HEADERS", "BINDING_WIDE_HEADERS", "binding_row"),
    "CustomResourceDefinition": ("custom", "CRD_HEADERS", None, "crd_row"),
    "ResourceQuota": ("quota", "QUOTA_HEADERS", None, "quota_row"),
    "LimitRange": ("quota", "LIMITRANGE_HEADERS", None, "limitrange_row"),
    "HorizontalPodAutoscaler": ("autoscaling", "HPA_HEADERS", None, "hpa_row"),
}


def table_columns(kind: str) -> tuple[list[str], list[str], RowFn]:
    """A kind's headers, wide-only headers and row function."""
    if kind == "Namespace":
        return ["NAME", "STATUS", "AGE"], [], _namespace_row
    if kind in meta.RESOURCES and meta.RESOURCES[kind].custom:
        from podctl.printers import custom

        heads, wide = custom.headers(kind)
        return heads, wide, custom.row_function(kind)
    from importlib import import_module

    module_name, headers, wide_headers, row_fn = _TABLES[kind]
    module = import_module(f"podctl.printers.{module_name}")
    wide = list(getattr(module, wide_headers)) if wide_headers else []
    return list(getattr(module, headers)), wide, getattr(module, row_fn)


def is_table(output: str | None) -> bool:
    return output is None or output == "wide"


def as_list(objs: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "items": objs, "kind": "List",
            "metadata": {"resourceVersion": ""}}


def check_format(output: str | None, show_labels: bool) -> None:
    """Reject a bad -o value or a flag combination kubectl refuses."""
    if output is None:
        return
    name = output.split("=", 1)[0]
    if name not in FORMATS:
        allowed = ", ".join(sorted(FORMATS))
        raise OutputError(f'unable to match a printer suitable for the output format "{output}", '
                          f"allowed formats are: {allowed}")
    if show_labels and name not in ("wide",):
        raise OutputError(f"--show-labels option cannot be used with {name} printer")


def without_managed_fields(obj: Obj) -> Obj:
    """The object without metadata.managedFields (a shallow copy when it has them)."""
    md = obj.get("metadata")
    if not isinstance(md, dict) or "managedFields" not in md:
        return obj
    return {**obj, "metadata": {k: v for k, v in md.items() if k != "managedFields"}}


def render(objs: list[Obj], output: str | None, *, single: bool, now: datetime,
           all_namespaces: bool = False, show_labels: bool = False,
           label_columns: list[str] | None = None, headers: bool = True,
           with_kind: bool = False) -> str:
    """Text for `get`; `single` means one object was asked for by name (no List wrapper);
    `with_kind` prefixes table names with their type, as kubectl does when several types
    were asked for (`get all`), whatever was found."""
    name, _, arg = (output or "").partition("=")
    data: Any = objs[0] if single and len(objs) == 1 else as_list(objs)
    if name == "json":
        return json.dumps(data, indent=4, sort_keys=True) + "\n"
    if name == "yaml":
        import yaml

        return str(yaml.safe_dump(data, default_flow_style=False, sort_keys=True))
    if name == "name":
        return "".join(f"{meta.singular(meta.key_of(o))}/{meta.name_of(o)}\n" for o in objs)
    if name in ("jsonpath", "jsonpath-as-json"):
        from podctl.printers.jsonpath import JSONPathError
        from podctl.printers.jsonpath import render as jsonpath

        try:
            return jsonpath(_strip_quotes(arg), data)
        except JSONPathError as exc:
            raise OutputError(f'error executing jsonpath "{arg}": {exc}') from exc
    if name == "custom-columns":
        return _custom_columns(objs, arg)
    return table(objs, now, wide=name == "wide", all_namespaces=all_namespaces,
                 show_labels=show_labels, label_columns=label_columns or [], header=headers,
                 with_kind=with_kind)


def _strip_quotes(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _custom_columns(objs: list[Obj], spec: str) -> str:
    from podctl.printers.jsonpath import JSONPathError
    from podctl.printers.jsonpath import render as jsonpath

    columns = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep or not path:
            raise OutputError(f"unexpected custom-columns spec: {part}, "
                              "expected <header>:<json-path-expr>")
        path = path.strip()
        if not path.startswith("{"):
            path = "{" + (path if path.startswith(".") else "." + path) + "}"
        columns.append((header, path))
    rows = []
    for obj in objs:
        row = []
        for _, path in columns:
            try:
                value = jsonpath(path, obj)
            except JSONPathError:
                value = ""
            row.append(value or "<none>")
        rows.append(row)
    return render_table([h for h, _ in columns], rows)


def table(objs: list[Obj], now: datetime, *, wide: bool, all_namespaces: bool,
          show_labels: bool, label_columns: list[str], header: bool = True,
          with_kind: bool = False) -> str:
    """kubectl's human-readable table; several kinds print one table each."""
    chunks = []
    kinds = list(dict.fromkeys(meta.key_of(o) for o in objs))
    for kind in kinds:
        headers, wide_headers, row_fn = table_columns(kind)
        cols = list(headers) + (list(wide_headers) if wide else [])
        if wide and kind in meta.RESOURCES and meta.RESOURCES[kind].custom:
            from podctl.printers import custom

            cols = custom.shown_headers(kind)  # wide columns where they are declared
        rows = []
        for obj in (o for o in objs if meta.key_of(o) == kind):
            row = row_fn(obj, now, wide)
            if with_kind or len(kinds) > 1:
                row[0] = f"{meta.singular(kind)}/{row[0]}"
            labels = meta.labels_of(obj)
            row += [labels.get(key, "") for key in label_columns]
            if show_labels:
                row.append(format_labels(labels))
            if all_namespaces and kind in meta.NAMESPACED:
                row.insert(0, meta.namespace_of(obj))
            rows.append(row)
        cols += [key.rsplit("/", 1)[-1].upper() for key in label_columns]
        if show_labels:
            cols.append("LABELS")
        if all_namespaces and kind in meta.NAMESPACED:
            cols.insert(0, "NAMESPACE")
        chunks.append(render_table(cols, rows, header=header))
    return "\n".join(chunks)


def sort_by(objs: list[Obj], expression: str) -> list[Obj]:
    """kubectl --sort-by: order by a JSONPath value (numbers numerically), missing first."""
    from podctl.printers.jsonpath import JSONPathError
    from podctl.printers.jsonpath import render as jsonpath

    path = expression if expression.startswith("{") else "{" + expression + "}"

    def key(obj: Obj) -> tuple[int, float, str]:
        try:
            value = jsonpath(path, obj)
        except JSONPathError as exc:
            raise OutputError(f"couldn't find any field with path \"{expression}\" in the "
                              f"list of objects: {exc}") from exc
        try:
            return (1, float(value), "")
        except ValueError:
            return (1 if value else 0, 0.0, value)

    return sorted(objs, key=key)
