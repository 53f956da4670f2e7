"""Semantic rules the API server enforces for Pods, ReplicationControllers and Namespaces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from podctl.api.quantity import format_quantity, parse_quantity
from podctl.manifest import names
from podctl.manifest.fielderr import (
    duplicate,
    forbidden,
    invalid,
    not_found,
    required,
    too_long,
    unsupported,
)
from podctl.manifest.problems import FieldPath, MapKey
from podctl.manifest.schema import FieldError

Errors = list[FieldError]
NameRule = Callable[[str], list[str]]

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
HTTP_SCHEMES = ("HTTP", "HTTPS")
HOST_PATH_TYPES = (
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
)
FIELD_PATHS = (
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
RESOURCE_FIELDS = (
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
)
STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")
MAX_ANNOTATIONS_BYTES = 262144


def _d(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (type errors are reported elsewhere)."""
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    """``value`` if it is a real integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _nonneg(errs: Errors, value: Any, path: FieldPath) -> None:
    """ValidateNonnegativeField."""
    number = _int(value)
    if number is not None and number < 0:
        errs.append(invalid(path, number, "must be greater than or equal to 0"))


def _name_details(errs: Errors, path: FieldPath, value: Any, rule: NameRule) -> None:
    """Invalid-value errors for a name that breaks ``rule``."""
    if isinstance(value, str) and value:
        errs.extend(invalid(path, value, detail) for detail in rule(value))


def validate_labels(errs: Errors, labels: Any, path: FieldPath) -> None:
    """ValidateLabels: every key a qualified name, every value a label value."""
    for key, value in _d(labels).items():
        errs.extend(invalid(path, key, detail) for detail in names.qualified_name(key))
        if isinstance(value, str):
            errs.extend(invalid(path, value, detail) for detail in names.label_value(value))


def validate_metadata(errs: Errors, meta: Any, namespaced: bool, name_rule: NameRule) -> None:
    """ValidateObjectMeta for a top-level object."""
    meta = _d(meta)
    path: FieldPath = ("metadata",)
    name = meta.get("name")
    if not name and not meta.get("generateName"):
        errs.append(required((*path, "name"), "name or generateName is required"))
    _name_details(errs, (*path, "name"), name, name_rule)
    namespace = meta.get("namespace")
    if namespaced:
        _name_details(errs, (*path, "namespace"), namespace, names.dns1123_label)
    elif namespace:
        errs.append(forbidden((*path, "namespace"), "not allowed on this type"))
    validate_labels(errs, meta.get("labels"), (*path, "labels"))
    validate_annotations(errs, meta.get("annotations"), (*path, "annotations"))


def validate_annotations(errs: Errors, annotations: Any, path: FieldPath) -> None:
    """ValidateAnnotations: keys are qualified names; total size is bounded."""
    total = 0
    for key, value in _d(annotations).items():
        errs.extend(invalid(path, key, detail) for detail in names.qualified_name(key.lower()))
        total += len(key) + (len(value) if isinstance(value, str) else 0)
    if total > MAX_ANNOTATIONS_BYTES:
        errs.append(too_long(path, MAX_ANNOTATIONS_BYTES))


def _port_number(errs: Errors, value: Any, path: FieldPath, allow_zero: bool = False) -> None:
    """A port number must be 1..65535."""
    number = _int(value)
    if number is None or (allow_zero and number == 0):
        return
    if number == 0:
        errs.append(required(path))
    elif not 1 <= number <= 65535:
        errs.append(invalid(path, number, "must be between 1 and 65535, inclusive"))


def _port_num_or_name(errs: Errors, value: Any, path: FieldPath) -> None:
    """ValidatePortNumOrName (probe and hook ports)."""
    if isinstance(value, str):
        errs.extend(invalid(path, value, d) for d in names.port_name(value))
        return
    number = _int(value)
    if number is not None and not 1 <= number <= 65535:
        errs.append(invalid(path, number, "must be between 1 and 65535, inclusive"))


def _handler(
    errs: Errors, handler: dict[str, Any], path: FieldPath, kinds: tuple[str, ...]
) -> None:
    """Exactly one handler of ``kinds`` (probe or lifecycle hook) and each one valid."""
    count = 0
    for kind in kinds:
        action = handler.get(kind)
        if action is None:
            continue
        if count:
            errs.append(forbidden((*path, kind), "may not specify more than 1 handler type"))
            continue
        count += 1
        action = _d(action)
        sub = (*path, kind)
        if kind == "exec" and action.get("command") in (None, []):
            errs.append(required((*sub, "command")))
        elif kind == "httpGet":
            _port_num_or_name(errs, action.get("port"), (*sub, "port"))
            scheme = action.get("scheme")
            if isinstance(scheme, str) and scheme and scheme not in HTTP_SCHEMES:
                errs.append(unsupported((*sub, "scheme"), scheme, HTTP_SCHEMES))
        elif kind == "tcpSocket" or kind == "grpc":
            _port_num_or_name(errs, action.get("port"), (*sub, "port"))
    if count == 0:
        errs.append(required(path, "must specify a handler type"))


def _sleep_action(errs: Errors, hook: dict[str, Any], path: FieldPath, grace: int) -> None:
    """validateSleepAction: a hook's sleep fits in the pod's grace period (zero allowed)."""
    seconds = _int(_d(hook.get("sleep")).get("seconds"))
    if seconds is not None and (seconds < 0 or seconds > grace):
        errs.append(invalid((*path, "seconds"), seconds, "must be non-negative and less than "
                            f"terminationGracePeriodSeconds ({grace})"))


def _probe(errs: Errors, probe: Any, path: FieldPath, kind: str) -> None:
    """validateProbe plus the liveness/startup/readiness specifics."""
    if not isinstance(probe, dict):
        return
    _handler(errs, probe, path, ("exec", "httpGet", "tcpSocket", "grpc"))
    for field in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        _nonneg(errs, probe.get(field), (*path, field))
    success = _int(probe.get("successThreshold"))
    if kind != "readinessProbe" and success is not None and success > 1:
        errs.append(invalid((*path, "successThreshold"), success, "must be 1"))
    grace = probe.get("terminationGracePeriodSeconds")
    if kind == "readinessProbe" and grace is not None:
        errs.append(
            invalid(
                (*path, "terminationGracePeriodSeconds"),
                grace,
                "must not be set for readinessProbes",
            )
        )
    elif isinstance(grace, int) and not isinstance(grace, bool) and grace <= 0:
        errs.append(
            invalid((*path, "terminationGracePeriodSeconds"), grace, "must be greater than 0")
        )


def _resources(errs: Errors, resources: Any, path: FieldPath) -> None:
    """ValidateResourceRequirements: names, non-negative quantities, request ≤ limit."""
    resources = _d(resources)
    parsed: dict[str, dict[str, Any]] = {}
    for section in ("limits", "requests"):
        parsed[section] = {}
        for name, raw in _d(resources.get(section)).items():
            sub = (*path, section, MapKey(name))
            if (
                name not in STANDARD_RESOURCES
                and not name.startswith("hugepages-")
                and "/" not in name
            ):
                bad = invalid(sub, name, "must be a standard resource type or fully qualified")
                errs.append(replace(bad, at_key=True))
                continue
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                continue
            value = parse_quantity(raw)
            if value is None:
                continue
            if value < 0:
                errs.append(
                    invalid(sub, format_quantity(raw), "must be greater than or equal to 0")
                )
                continue
            parsed[section][name] = (value, raw)
    for name, (request, raw) in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and request > limit[0]:
            errs.append(
                invalid(
                    (*path, "requests", MapKey(name)),
                    format_quantity(raw),
                    f"must be less than or equal to {name} limit of {format_quantity(limit[1])}",
                )
            )


def _env(errs: Errors, env: Any, path: FieldPath) -> None:
    """validateEnv: names, value vs valueFrom, field references."""
    for i, var in enumerate(_l(env)):
        if not isinstance(var, dict):
            continue
        sub = (*path, i)
        name = var.get("name")
        if isinstance(name, str):
            if name:
                errs.extend(invalid((*sub, "name"), name, d) for d in names.env_var_name(name))
            else:
                errs.append(required((*sub, "name")))
        source = var.get("valueFrom")
        if not isinstance(source, dict):
            continue
        if var.get("value"):
            errs.append(
                invalid((*sub, "valueFrom"), "", "may not be specified when `value` is not empty")
            )
        refs = [
            k
            for k in (
                "fieldRef",
                "resourceFieldRef",
                "configMapKeyRef",
                "secretKeyRef",
                "fileKeyRef",
            )
            if source.get(k) is not None
        ]
        if not refs:
            errs.append(
                invalid(
                    (*sub, "valueFrom"),
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` "
                    "or `secretKeyRef`",
                )
            )
        elif len(refs) > 1:
            errs.append(
                invalid(
                    (*sub, "valueFrom"), "", "may not have more than one field specified at a time"
                )
            )
        field_ref = _d(source.get("fieldRef"))
        fpath = field_ref.get("fieldPath")
        if isinstance(fpath, str) and fpath:
            base = (
                fpath.split("[", 1)[0]
                if fpath.startswith(("metadata.labels[", "metadata.annotations["))
                else fpath
            )
            if base not in FIELD_PATHS:
                errs.append(
                    unsupported((*sub, "valueFrom", "fieldRef", "fieldPath"), fpath, FIELD_PATHS)
                )
        resource = _d(source.get("resourceFieldRef")).get("resource")
        if isinstance(resource, str) and resource and resource not in RESOURCE_FIELDS:
            errs.append(
                unsupported(
                    (*sub, "valueFrom", "resourceFieldRef", "resource"), resource, RESOURCE_FIELDS
                )
            )


def _ports(errs: Errors, ports: Any, path: FieldPath, host_network: bool) -> None:
    """validateContainerPorts."""
    seen: set[str] = set()
    for i, port in enumerate(_l(ports)):
        if not isinstance(port, dict):
            continue
        sub = (*path, i)
        name = port.get("name")
        if isinstance(name, str) and name:
            errs.extend(invalid((*sub, "name"), name, d) for d in names.port_name(name))
            if name in seen:
                errs.append(duplicate((*sub, "name"), name))
            seen.add(name)
        _port_number(errs, port.get("containerPort"), (*sub, "containerPort"))
        _port_number(errs, port.get("hostPort"), (*sub, "hostPort"), allow_zero=True)
        host_port, container_port = _int(port.get("hostPort")), _int(port.get("containerPort"))
        if host_network and host_port and container_port and host_port != container_port:
            errs.append(
                invalid(
                    (*sub, "hostPort"),
                    host_port,
                    "must match `containerPort` when `hostNetwork` is true",
                )
            )
        protocol = port.get("protocol")
        if isinstance(protocol, str) and protocol not in PROTOCOLS:
            errs.append(unsupported((*sub, "protocol"), protocol, PROTOCOLS))


def _container(
    errs: Errors,
    ctr: dict[str, Any],
    path: FieldPath,
    volumes: set[str],
    init: bool,
    host_network: bool,
    grace: int = 30,
) -> None:
    """One container (app or init); `grace` is the pod's terminationGracePeriodSeconds."""
    image = ctr.get("image")
    if image is None or image == "":
        errs.append(required((*path, "image")))
    elif isinstance(image, str) and image != image.strip():
        errs.append(
            invalid((*path, "image"), image, "must not have leading or trailing whitespace")
        )
    policy = ctr.get("imagePullPolicy")
    if isinstance(policy, str) and policy and policy not in PULL_POLICIES:
        errs.append(unsupported((*path, "imagePullPolicy"), policy, PULL_POLICIES))
    tmp = ctr.get("terminationMessagePolicy")
    if isinstance(tmp, str) and tmp and tmp not in TERMINATION_MESSAGE_POLICIES:
        errs.append(
            unsupported((*path, "terminationMessagePolicy"), tmp, TERMINATION_MESSAGE_POLICIES)
        )
    restart = ctr.get("restartPolicy")
    if restart is not None:
        if not init:
            errs.append(
                forbidden((*path, "restartPolicy"), "may not be set for non-init containers")
            )
        elif restart != "Always":
            errs.append(unsupported((*path, "restartPolicy"), restart, ("Always",)))
    _ports(errs, ctr.get("ports"), (*path, "ports"), host_network)
    _env(errs, ctr.get("env"), (*path, "env"))
    mount_paths: set[str] = set()
    for i, mount in enumerate(_l(ctr.get("volumeMounts"))):
        if not isinstance(mount, dict):
            continue
        name = mount.get("name")
        if isinstance(name, str):
            if not name:
                errs.append(required((*path, "volumeMounts", i, "name")))
            elif name not in volumes:
                errs.append(not_found((*path, "volumeMounts", i, "name"), name))
        mount_path = mount.get("mountPath")
        if isinstance(mount_path, str):
            if not mount_path:
                errs.append(required((*path, "volumeMounts", i, "mountPath")))
            elif mount_path in mount_paths:
                errs.append(
                    invalid((*path, "volumeMounts", i, "mountPath"), mount_path, "must be unique")
                )
            mount_paths.add(mount_path)
        _sub_paths(errs, mount, (*path, "volumeMounts"), i)
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = ctr.get(kind)
        if probe is None:
            continue
        if init and restart != "Always":
            errs.append(
                forbidden(
                    (*path, kind), "may not be set for init containers without restartPolicy=Always"
                )
            )
            continue
        _probe(errs, probe, (*path, kind), kind)
    lifecycle = _d(ctr.get("lifecycle"))
    for hook in ("postStart", "preStop"):
        if isinstance(lifecycle.get(hook), dict):
            _handler(
                errs,
                lifecycle[hook],
                (*path, "lifecycle", hook),
                ("exec", "httpGet", "tcpSocket", "sleep"),
            )
            _sleep_action(errs, lifecycle[hook], (*path, "lifecycle", hook, "sleep"), grace)
    _resources(errs, ctr.get("resources"), (*path, "resources"))


def _local_descending_path(errs: Errors, value: str, path: FieldPath) -> None:
    """validateLocalDescendingPath: relative, and no '..' element."""
    if value.startswith("/"):
        errs.append(invalid(path, value, "must be a relative path"))
    if ".." in value.split("/"):
        errs.append(invalid(path, value, "must not contain '..'"))


def _sub_paths(errs: Errors, mount: dict[str, Any], mounts: FieldPath, i: int) -> None:
    """subPath and subPathExpr. Upstream reports their path errors on the list's path,
    without the mount's index (`volumeMounts.subPath`), and the exclusion on the mount's."""
    sub_path, expr = mount.get("subPath"), mount.get("subPathExpr")
    if isinstance(sub_path, str) and sub_path:
        _local_descending_path(errs, sub_path, (*mounts, "subPath"))
    if isinstance(expr, str) and expr:
        if isinstance(sub_path, str) and sub_path:
            errs.append(invalid((*mounts, i, "subPathExpr"), expr,
                                "subPathExpr and subPath are mutually exclusive"))
        _local_descending_path(errs, expr, (*mounts, "subPathExpr"))


def _volumes(errs: Errors, volumes: Any, path: FieldPath) -> set[str]:
    """Volume names (unique RFC 1123 labels) and sources (at most one each)."""
    seen: set[str] = set()
    for i, vol in enumerate(_l(volumes)):
        if not isinstance(vol, dict):
            continue
        sub = (*path, i)
        _unique_label_name(errs, sub, vol.get("name"), seen)
        sources = [k for k, v in vol.items() if k != "name" and v is not None]
        for extra in sources[1:]:
            errs.append(forbidden((*sub, extra), "may not specify more than 1 volume type"))
        host_path = _d(vol.get("hostPath"))
        hp_type = host_path.get("type")
        if isinstance(hp_type, str) and hp_type not in HOST_PATH_TYPES:
            errs.append(unsupported((*sub, "hostPath", "type"), hp_type, HOST_PATH_TYPES))
        _claim_volume(errs, vol, sub)
        size = _d(vol.get("emptyDir")).get("sizeLimit")
        parsed = parse_quantity(size) if isinstance(size, str | int | float) else None
        if parsed is not None and parsed < 0:
            errs.append(forbidden((*sub, "emptyDir", "sizeLimit"),
                                  "SizeLimit field must be a valid resource quantity"))
    return seen


def _claim_volume(errs: Errors, vol: dict[str, Any], path: FieldPath) -> None:
    """A persistentVolumeClaim names its claim; an ephemeral volume carries a valid claim
    template."""
    claim = vol.get("persistentVolumeClaim")
    if isinstance(claim, dict) and not claim.get("claimName"):
        errs.append(required((*path, "persistentVolumeClaim", "claimName")))
    ephemeral = vol.get("ephemeral")
    if not isinstance(ephemeral, dict):
        return
    template = ephemeral.get("volumeClaimTemplate")
    if not isinstance(template, dict):
        errs.append(required((*path, "ephemeral", "volumeClaimTemplate")))
        return
    from podctl.manifest.storage_rules import validate_claim_spec  # it builds on these rules

    validate_claim_spec(errs, template.get("spec"),
                        (*path, "ephemeral", "volumeClaimTemplate", "spec"))


def _unique_label_name(errs: Errors, sub: FieldPath, name: Any, seen: set[str]) -> None:
    """A container or volume name: required, a DNS-1123 label, unique among its kind."""
    if not isinstance(name, str):
        return
    if not name:
        errs.append(required((*sub, "name")))
    _name_details(errs, (*sub, "name"), name, names.dns1123_label)
    if name in seen:
        errs.append(duplicate((*sub, "name"), name))
    seen.add(name)


def validate_pod_spec(errs: Errors, spec: Any, path: FieldPath) -> None:
    """ValidatePodSpec (the parts podctl's objects can get wrong)."""
    if not isinstance(spec, dict):
        return
    volumes = _volumes(errs, spec.get("volumes"), (*path, "volumes"))
    host_network = spec.get("hostNetwork") is True
    grace = _int(spec.get("terminationGracePeriodSeconds"))
    grace = 30 if grace is None else grace
    containers = spec.get("containers")
    if isinstance(containers, list) and not containers:
        errs.append(required((*path, "containers")))
    seen: set[str] = set()
    for field, init in (("initContainers", True), ("containers", False)):
        for i, ctr in enumerate(_l(spec.get(field))):
            if not isinstance(ctr, dict):
                continue
            sub = (*path, field, i)
            _unique_label_name(errs, sub, ctr.get("name"), seen)
            _container(errs, ctr, sub, volumes, init, host_network, grace)
    restart = spec.get("restartPolicy")
    if isinstance(restart, str) and restart and restart not in RESTART_POLICIES:
        errs.append(unsupported((*path, "restartPolicy"), restart, RESTART_POLICIES))
    dns = spec.get("dnsPolicy")
    if isinstance(dns, str) and dns and dns not in DNS_POLICIES:
        errs.append(unsupported((*path, "dnsPolicy"), dns, DNS_POLICIES))
    deadline = _int(spec.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= 2147483647:
        errs.append(
            invalid(
                (*path, "activeDeadlineSeconds"),
                deadline,
                "must be between 1 and 2147483647, inclusive",
            )
        )
    validate_labels(errs, spec.get("nodeSelector"), (*path, "nodeSelector"))
    for field in ("hostname", "subdomain"):
        _name_details(errs, (*path, field), spec.get(field), names.dns1123_label)
    _scheduling_gates(errs, spec.get("schedulingGates"), (*path, "schedulingGates"))


def _scheduling_gates(errs: Errors, gates: Any, path: FieldPath) -> None:
    """validateSchedulingGates: qualified names, each once."""
    seen: set[str] = set()
    for i, gate in enumerate(_l(gates)):
        name = _d(gate).get("name")
        if not isinstance(name, str):
            continue  # the strict schema reports it
        errs.extend(invalid((*path, i), name, detail) for detail in names.qualified_name(name))
        if name in seen:
            errs.append(duplicate((*path, i), name))
        seen.add(name)


def validate_pod(obj: dict[str, Any]) -> Errors:
    """ValidatePodCreate."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = obj.get("spec")
    if spec is None:
        errs.append(required(("spec", "containers")))
    validate_pod_spec(errs, spec, ("spec",))
    if _d(spec).get("schedulingGates") and _d(spec).get("nodeName"):
        errs.append(forbidden(("spec", "nodeName"),
                              "cannot be set until all schedulingGates have been cleared"))
    return errs


def validate_replication_controller(obj: dict[str, Any]) -> Errors:
    """ValidateReplicationController (after defaulting the selector from the template)."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    _nonneg(errs, spec.get("replicas"), (*path, "replicas"))
    _nonneg(errs, spec.get("minReadySeconds"), (*path, "minReadySeconds"))
    template = spec.get("template")
    tmeta = _d(_d(template).get("metadata"))
    tlabels = {k: v for k, v in _d(tmeta.get("labels")).items() if isinstance(v, str)}
    selector = _d(spec.get("selector")) or tlabels
    if not selector:
        errs.append(required((*path, "selector")))
    else:
        validate_labels(errs, spec.get("selector"), (*path, "selector"))
    if not isinstance(template, dict):
        errs.append(required((*path, "template")))
        return errs
    tpath: FieldPath = (*path, "template")
    if selector and any(tlabels.get(k) != v for k, v in selector.items()):
        errs.append(
            invalid(
                (*tpath, "metadata", "labels"),
                tlabels,
                "`selector` does not match template `labels`",
            )
        )
    validate_labels(errs, tmeta.get("labels"), (*tpath, "metadata", "labels"))
    validate_annotations(errs, tmeta.get("annotations"), (*tpath, "metadata", "annotations"))
    tspec = template.get("spec")
    if not isinstance(tspec, dict):
        errs.append(required((*tpath, "spec", "containers")))
        return errs
    validate_pod_spec(errs, tspec, (*tpath, "spec"))
    restart = tspec.get("restartPolicy")
    if isinstance(restart, str) and restart and restart != "Always":
        errs.append(unsupported((*tpath, "spec", "restartPolicy"), restart, ("Always",)))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(
            forbidden(
                (*tpath, "spec", "activeDeadlineSeconds"),
                "activeDeadlineSeconds in ReplicationController is not Supported",
            )
        )
    return errs


def validate_namespace(obj: dict[str, Any]) -> Errors:
    """ValidateNamespace."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), False, names.dns1123_label)
    return errs


VALIDATORS: dict[str, Callable[[dict[str, Any]], Errors]] = {
    "Pod": validate_pod,
    "ReplicationController": validate_replication_controller,
    "Namespace": validate_namespace,
}
