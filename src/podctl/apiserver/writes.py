"""The writing verbs: POST (validated and defaulted as `podctl create` does), PUT (the
update rules `podctl apply` follows, a stale resourceVersion is a Conflict), PATCH, DELETE
with podctl's deletion model, and the scale and status subresources. No HTTP here."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

from podctl.api import meta
from podctl.api.labels import go_quote
from podctl.api.meta import Obj
from podctl.apiserver import objects, openapi
from podctl.apiserver.bodies import json_kind
from podctl.apiserver.params import (
    STRICT,
    WARN,
    ListOptions,
    WriteOptions,
    dry_run_errors,
    go_bool,
    go_int,
)
from podctl.apiserver.patch import STRATEGIC, PatchError, Schemas, apply_patch
from podctl.apiserver.status import ApiError, invalid, success
from podctl.controllers.bind import store_and_bind
from podctl.controllers.deletion import (
    FOREGROUND,
    ORPHAN,
    check_deletable,
    delete_at_once,
    delete_owner_background,
    mark_namespace_deleting,
    mark_owner_deleting,
    mark_pod_deleting,
)
from podctl.controllers.replication import NAME_ALPHABET, set_replicas
from podctl.controllers.services import create_service, update_service
from podctl.errors import Conflict, DockerUnavailable, Invalid
from podctl.home import home_id
from podctl.manifest import Document, check_document
from podctl.manifest.schema import decode_structure, go_type, load_schema
from podctl.manifest.update import merged
from podctl.runtime.servicenet import reserve_service_range
from podctl.store import Store

OWNER_KINDS = ("ReplicationController", "ReplicaSet", "DaemonSet", "Job")
# Kinds podctl writes itself, with who does.
READ_ONLY = {"Event": "podctl records events itself",
             "EndpointSlice": "podctl's EndpointSlice controller keeps endpointslices itself"}
# Of those, kinds a client may still delete: the controller makes them again.
DELETABLE = ("EndpointSlice",)
# Fields the server sets: a client's values are ignored on create.
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                 "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink")
CONFLICT_RETRIES = 5


def _refuse_read_only(kind: str) -> None:
    if kind in READ_ONLY:
        raise ApiError("MethodNotAllowed", f"{READ_ONLY[kind]}; they cannot be written "
                       "through the API", {})


def _causes(message: str) -> tuple[str, str]:
    """`spec.x: Required value` -> (field, rest), as the API's StatusCause holds them."""
    field, sep, rest = message.partition(": ")
    if sep and field and " " not in field:
        return field, rest
    return "", message


def decoded(kind: str, body: Any, opts: WriteOptions, patched: str | None = None) -> Obj:
    """A copy of the body as the API server's decoder reads it into the kind's Go type: a
    mistyped value refused, unknown and duplicate fields by `fieldValidation` (Strict:
    refused; Warn: dropped, each a warning; Ignore: dropped). `patched`: the patch's
    rendering when the body is a patch's result (its errors are Invalid on `patch`)."""
    if not isinstance(body, dict):
        raise _decode_failure(kind, "json: cannot unmarshal " + json_kind(body) +
                              f" into Go value of type {go_type(kind)}", patched)
    body = copy.deepcopy(body)
    out: Obj = body
    if kind not in load_schema().kinds:
        return out
    found = decode_structure(body, kind, prune=not opts.strict)
    if found.error is not None:
        raise _decode_failure(kind, found.error, patched)
    strict_errors = [*opts.duplicates, *found.unknown]
    if strict_errors and opts.strict:
        raise _decode_failure(kind, "strict decoding error: " + ", ".join(strict_errors),
                              patched)
    if opts.validation == WARN:
        opts.warnings.extend(e for e in strict_errors if e not in opts.warnings)
    return out


def _decode_failure(kind: str, message: str, patched: str | None) -> ApiError:
    """A body that does not decode: BadRequest as create and update answer it, Invalid on
    `patch` as patch does (the patched object in the message)."""
    if patched is None:
        version = meta.api_version(kind).rpartition("/")[2] if kind in meta.RESOURCES \
            else "v1"
        return ApiError("BadRequest", f'{kind} in version "{version}" cannot be handled as a '
                        f"{kind}: {message}")
    return invalid("", "", [("patch", f"Invalid value: {go_quote(patched)}: {message}")])


def validated(kind: str, namespace: str, body: Any, opts: WriteOptions | None = None,
              patched: str | None = None) -> Obj:
    """The body decoded, checked and defaulted as the API server would (Invalid with
    causes)."""
    opts = opts if opts is not None else WriteOptions(validation=STRICT)
    if isinstance(body, dict) and body.get("kind") not in (None, kind):
        raise ApiError("BadRequest", f'the object provided is unrecognized (must be of type '
                       f'{kind}): {body.get("kind")}')
    body = decoded(kind, body, opts, patched)
    body.setdefault("kind", kind)
    body.setdefault("apiVersion", meta.api_version(kind))
    md = body.setdefault("metadata", {})
    if not isinstance(md, dict):
        md = body["metadata"] = {}
    if kind in meta.NAMESPACED:
        if md.get("namespace") and md["namespace"] != namespace:
            raise ApiError("BadRequest", "the namespace of the provided object does not match "
                           "the namespace sent on the request")
        md["namespace"] = namespace
    if kind == "Node":
        node: Obj = body
        return node
    checked = check_document(Document("", 0, body, None), namespace or None)
    if checked.obj is None:
        name = str(md.get("name") or md.get("generateName") or "")
        raise invalid(kind, name, [_causes(p.message) for p in checked.problems])
    out: Obj = checked.obj
    return out


def create(store: Store, kind: str, namespace: str, body: Any, opts: WriteOptions) -> Obj:
    _refuse_read_only(kind)
    md = body.get("metadata") if isinstance(body, dict) else None
    if isinstance(md, dict) and not md.get("name") and isinstance(md.get("generateName"), str):
        suffix = "".join(random.choice(NAME_ALPHABET) for _ in range(5))
        md["name"] = f"{md['generateName']}{suffix}"
    obj = validated(kind, namespace, body, opts)
    for key in SERVER_FIELDS:
        obj["metadata"].pop(key, None)
    if kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    if opts.dry_run:
        obj["metadata"].update(uid=meta.new_uid(), creationTimestamp=meta.now_rfc3339())
        return obj
    if kind == "Pod":
        try:
            return store_and_bind(store, obj)
        except DockerUnavailable:
            # The node registers from the engine's first answer; a controller binds later.
            return store.create({**obj, "status": {"phase": "Pending"}})
    if kind == "Service":
        return create_service(store, obj, _reserve(store))
    return store.create(obj)


def _stored(store: Store, kind: str, namespace: str, name: str) -> Obj:
    obj = store.get(kind, namespace, name)
    if obj is None:
        raise objects.not_found(kind, name)
    return obj


def _invalid_from(kind: str, name: str, exc: Invalid) -> ApiError:
    """podctl's `The Pod "x" is invalid: <cause>` as the API's Invalid Status."""
    text = str(exc)
    head = f'The {kind} "{name}" is invalid: '
    return invalid(kind, name, [_causes(text[len(head):] if text.startswith(head) else text)])


def _reserve(store: Store) -> Callable[[], IPv4Network]:
    return lambda: reserve_service_range(home_id(store.path.parent))


def _updated(kind: str, current: Obj, desired: Obj) -> Obj:
    """The stored object after a full update to `desired`."""
    md = desired["metadata"]
    if md.get("name") != meta.name_of(current):
        raise ApiError("BadRequest", "the name of the object "
                       f'({md.get("name")}) does not match the name on the URL '
                       f"({meta.name_of(current)})")
    if md.get("uid") and md["uid"] != meta.uid_of(current):
        raise ApiError("Conflict", f"Precondition failed: UID in precondition: {md['uid']}, "
                       f"UID in object meta: {meta.uid_of(current)}")
    if kind in ("Service", "Endpoints", "Namespace", "Node"):
        out = copy.deepcopy(current)
        for key in ("labels", "annotations"):
            if md.get(key):
                out["metadata"][key] = dict(md[key])
            else:
                out["metadata"].pop(key, None)
        if kind == "Endpoints":
            out["subsets"] = copy.deepcopy(desired.get("subsets") or [])
        elif kind == "Node":
            out["spec"] = copy.deepcopy(desired.get("spec") or {})
    else:
        try:
            out = merged(current, desired)
        except Invalid as exc:
            raise _invalid_from(kind, meta.name_of(current), exc) from exc
    for key in ("finalizers", "ownerReferences"):
        if md.get(key):
            out["metadata"][key] = copy.deepcopy(md[key])
        else:
            out["metadata"].pop(key, None)
    # The PUT's precondition: the version the client read (none: unconditional).
    out["metadata"]["resourceVersion"] = md.get("resourceVersion")
    if out["metadata"]["resourceVersion"] is None:
        out["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    return out


def replace(store: Store, kind: str, namespace: str, name: str, body: Any,
            opts: WriteOptions, patched: str | None = None) -> Obj:
    """PUT: a full update; Conflict when the body's resourceVersion is not the stored one."""
    _refuse_read_only(kind)
    current = _stored(store, kind, namespace, name)
    desired = validated(kind, namespace, body, opts, patched)
    desired["metadata"]["resourceVersion"] = _resource_version(body)
    out = _updated(kind, current, desired)
    if kind == "Service":
        try:
            out["spec"] = update_service(store, current, desired, _reserve(store))["spec"]
        except Invalid as exc:
            raise _invalid_from(kind, name, exc) from exc
    if opts.dry_run:
        return out
    try:
        return store.update(out)
    except Conflict as exc:
        raise ApiError("Conflict", str(exc), {"name": name, "kind": meta.RESOURCES[kind].name}
                       ) from exc


def patch(store: Store, kind: str, namespace: str, name: str, content_type: str, body: Any,
          opts: WriteOptions) -> Obj:
    """PATCH: the patch applied to the stored object, written as an update (retried on a
    conflict when the patch itself names no resourceVersion)."""
    _refuse_read_only(kind)
    for _ in range(CONFLICT_RETRIES):
        current = _stored(store, kind, namespace, name)
        patched = _patched(kind, current, content_type, body)
        pinned = _resource_version(patched) != current["metadata"]["resourceVersion"]
        if not pinned and isinstance(patched.get("metadata"), dict):
            patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        try:
            return replace(store, kind, namespace, name, patched, opts,
                           _patch_text(content_type, body, patched))
        except ApiError as exc:
            if exc.reason != "Conflict" or pinned:
                raise
    raise ApiError("Conflict", str(Conflict(meta.plural(kind), name)))


def _resource_version(body: Any) -> Any:
    md = body.get("metadata") if isinstance(body, dict) else None
    return md.get("resourceVersion") if isinstance(md, dict) else None


def _patch_text(content_type: str, patch_body: Any, patched: Obj) -> str:
    """What upstream quotes of a patch that does not decode: the patch itself (as Go prints
    a map) for a strategic merge patch, the patched object's JSON otherwise."""
    if content_type == STRATEGIC:
        return go_value(patch_body)
    return json.dumps(patched, separators=(",", ":"))


def go_value(value: Any) -> str:
    """A decoded JSON value as Go's %+v prints it (maps sorted, strings bare)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "<nil>" if value is None else str(value)


def _patched(kind: str, current: Obj, content_type: str, body: Any) -> Obj:
    served = objects.with_type(kind, current)
    schema = {"$ref": openapi.COMPONENTS + (openapi.schema_name(kind) or "")}
    try:
        return apply_patch(content_type, served, body, schema, _schemas())
    except PatchError as exc:
        raise ApiError("BadRequest", str(exc)) from exc


def _schemas() -> Schemas:
    return Schemas(openapi.bundle()["schemas"])


# -- status and scale ------------------------------------------------------------------------


def replace_status(store: Store, kind: str, namespace: str, name: str, body: Any,
                   opts: WriteOptions, patched: str | None = None) -> Obj:
    """PUT .../status: the body's status on the stored object, decoded as the whole object
    is (so a mistyped status never reaches the controllers)."""
    current = _stored(store, kind, namespace, name)
    body = decoded(kind, body, opts, patched)
    out = copy.deepcopy(current)
    out["status"] = body.get("status")
    out["metadata"]["resourceVersion"] = _resource_version(body) or \
        current["metadata"]["resourceVersion"]
    if opts.dry_run:
        return out
    try:
        return store.update_status(out)
    except Conflict as exc:
        raise ApiError("Conflict", str(exc)) from exc


def patch_status(store: Store, kind: str, namespace: str, name: str, content_type: str,
                 body: Any, opts: WriteOptions) -> Obj:
    current = _stored(store, kind, namespace, name)
    patched = _patched(kind, current, content_type, body)
    return replace_status(store, kind, namespace, name, patched, opts,
                          _patch_text(content_type, body, patched))


def scale_of(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale of an RC, ReplicaSet or Deployment."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = spec.get("selector") or {}
    if obj["kind"] != "ReplicationController":
        selector = selector.get("matchLabels") or {}
    md = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                            "creationTimestamp") if k in md},
            "spec": {"replicas": int(spec.get("replicas") or 0)},
            "status": {"replicas": int(status.get("replicas") or 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))}}


def scale_overflow(obj: Obj, replicas: int) -> str:
    """kubectl's line for a scale of `obj` to a count beyond int32: the refusal of its merge
    patch, as the API words it."""
    scale = scale_of(obj)
    scale["spec"]["replicas"] = replicas
    patched = json.dumps(scale, separators=(",", ":"))
    return (f"The request is invalid: patch: Invalid value: {go_quote(patched)}: json: cannot "
            f"unmarshal number {replicas} into Go struct field ScaleSpec.spec.replicas of type "
            "int32")


def get_scale(store: Store, kind: str, namespace: str, name: str) -> Obj:
    return scale_of(_stored(store, kind, namespace, name))


def replace_scale(store: Store, kind: str, namespace: str, name: str, body: Any,
                  opts: WriteOptions, patched: str | None = None) -> Obj:
    """PUT .../scale: any scalable kind's replicas from an autoscaling/v1 Scale, decoded
    (an int32) and validated as the API server does; a dry run writes nothing."""
    current = _stored(store, kind, namespace, name)
    scale = decoded("Scale", body, opts, patched)
    spec = scale.get("spec") or {}
    replicas = int(spec.get("replicas") or 0)  # omitted: 0, as Go's decoder leaves it
    if replicas < 0:
        raise invalid("Scale", name, [("spec.replicas", f"Invalid value: {replicas}: must be "
                                       "greater than or equal to 0")], "autoscaling")
    wanted = _resource_version(scale)
    if wanted and wanted != current["metadata"]["resourceVersion"]:
        raise ApiError("Conflict", str(Conflict(meta.plural(kind), name)))
    if opts.dry_run:
        answer = scale_of(current)
        answer["spec"]["replicas"] = replicas
        return answer
    if set_replicas(store, kind, namespace, name, replicas) is None:
        raise objects.not_found(kind, name)
    return get_scale(store, kind, namespace, name)


def patch_scale(store: Store, kind: str, namespace: str, name: str, content_type: str,
                body: Any, opts: WriteOptions) -> Obj:
    scale = get_scale(store, kind, namespace, name)
    schema = {"$ref": openapi.COMPONENTS + "io.k8s.api.autoscaling.v1.Scale"}
    try:
        patched = apply_patch(content_type, scale, body, schema, _schemas())
    except PatchError as exc:
        raise ApiError("BadRequest", str(exc)) from exc
    return replace_scale(store, kind, namespace, name, patched, opts,
                         _patch_text(content_type, body, patched))


# -- delete ----------------------------------------------------------------------------------


@dataclass
class DeleteOptions:
    grace: int | None = None
    propagation: str | None = None  # Background, Foreground, Orphan
    dry_run: bool = False
    uid: str | None = None
    resource_version: str | None = None


# A longer grace period would push the deletion deadline past what a timestamp holds.
MAX_GRACE_SECONDS = 2**31 - 1
_DELETE_FIELDS = {"gracePeriodSeconds": ("int64", int), "propagationPolicy": ("string", str),
                  "orphanDependents": ("bool", bool), "dryRun": ("[]string", list),
                  "preconditions": ("v1.Preconditions", dict)}


def delete_options(query: Mapping[str, str], dry_run: list[str], body: Any) -> DeleteOptions:
    """DeleteOptions from the body when there is one, else from the query (as upstream
    reads them), decoded and validated in upstream's words."""
    if body is not None:
        source = _delete_body(body)
    else:
        source = {k: v for k, v in query.items() if k in _DELETE_FIELDS}
        if "gracePeriodSeconds" in source:
            source["gracePeriodSeconds"] = go_int(source["gracePeriodSeconds"])
        if "orphanDependents" in source:
            source["orphanDependents"] = go_bool(source["orphanDependents"])
        source["dryRun"] = dry_run
    opts = DeleteOptions()
    if source.get("gracePeriodSeconds") is not None:
        grace = int(source["gracePeriodSeconds"])
        opts.grace = 1 if grace < 0 else min(grace, MAX_GRACE_SECONDS)  # as the pod strategy
    errors = _delete_errors(source)
    if errors:
        raise invalid("DeleteOptions", "", errors, "meta.k8s.io")
    if source.get("orphanDependents"):
        opts.propagation = "Orphan"
    if source.get("propagationPolicy"):
        opts.propagation = str(source["propagationPolicy"])
    opts.dry_run = bool(source.get("dryRun"))
    pre = source.get("preconditions") or {}
    opts.uid, opts.resource_version = pre.get("uid"), pre.get("resourceVersion")
    return opts


def _delete_body(body: Any) -> dict[str, Any]:
    """A DeleteOptions body, each field of its Go type."""
    def refused(value: Any, where: str, go: str) -> ApiError:
        return ApiError("BadRequest", f"json: cannot unmarshal {json_kind(value)} into Go "
                        f"{where} of type {go}")

    if not isinstance(body, dict):
        raise refused(body, "value", "v1.DeleteOptions")
    out: dict[str, Any] = {}
    for key, (go, kind) in _DELETE_FIELDS.items():
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) is not (kind is bool) or not isinstance(value, kind):
            raise refused(value, f"struct field DeleteOptions.{key}", go)
        out[key] = value
    for key, value in (out.get("preconditions") or {}).items():
        if key in ("uid", "resourceVersion") and value is not None and \
                not isinstance(value, str):
            raise refused(value, f"struct field Preconditions.preconditions.{key}", "string")
    if not all(isinstance(v, str) for v in out.get("dryRun") or []):
        raise refused(out["dryRun"], "struct field DeleteOptions.dryRun", "[]string")
    return out


def _delete_errors(source: dict[str, Any]) -> list[tuple[str, str]]:
    errors = []
    policy = source.get("propagationPolicy")
    if source.get("orphanDependents") is not None and policy is not None:
        errors.append(("propagationPolicy", f"Invalid value: {go_quote(str(policy))}: "
                       "orphanDependents and deletionPropagation cannot be both set"))
    if policy is not None and policy not in ("Foreground", "Background", "Orphan"):
        errors.append(("propagationPolicy", f"Unsupported value: {go_quote(str(policy))}: "
                       'supported values: "Foreground", "Background", "Orphan", "nil"'))
    return errors + dry_run_errors(source.get("dryRun") or [])


def delete(store: Store, kind: str, namespace: str, name: str, opts: DeleteOptions) -> Obj:
    """DELETE with podctl's deletion model: the object is marked (deletionTimestamp and the
    finalizer saying what happens to its dependents) and the controller finishes it; what
    has nothing to wait for goes at once. The marked object, or a Success Status."""
    if kind not in DELETABLE:
        _refuse_read_only(kind)
    current = _stored(store, kind, namespace, name)
    group = meta.api_version(kind).rpartition("/")[0]
    gone = success(meta.RESOURCES[kind].name, name, meta.uid_of(current), group)
    if opts.uid and opts.uid != meta.uid_of(current):
        raise ApiError("Conflict", f"Precondition failed: UID in precondition: {opts.uid}, "
                       f"UID in object meta: {meta.uid_of(current)}")
    if opts.resource_version and opts.resource_version != current["metadata"][
            "resourceVersion"]:
        raise ApiError("Conflict", f"Precondition failed: ResourceVersion in precondition: "
                       f"{opts.resource_version}, ResourceVersion in object meta: "
                       f"{current['metadata']['resourceVersion']}")
    if kind == "Namespace":
        check_deletable(name)
    if opts.dry_run:
        return objects.with_type(kind, current)
    marked: Obj | None
    if kind == "Pod":
        marked = mark_pod_deleting(store, current, opts.grace)
    elif kind == "Namespace":
        marked = mark_namespace_deleting(store, name) or store.get(kind, "", name)
    elif kind in OWNER_KINDS and opts.propagation in (None, "Background"):
        delete_owner_background(store, current, opts.grace)
        return gone
    elif kind in (*OWNER_KINDS, "Deployment"):
        marked = mark_owner_deleting(store, current,
                                     ORPHAN if opts.propagation == "Orphan" else FOREGROUND)
    else:
        delete_at_once(store, kind, namespace, name, meta.uid_of(current))
        return gone
    if marked is None or store.get_by_uid(meta.uid_of(current)) is None:
        return gone
    return objects.with_type(kind, marked)


def delete_collection(store: Store, kind: str, namespace: str | None,
                      query: ListOptions, opts: DeleteOptions) -> Obj:
    page = objects.list_objects(store, kind, namespace, query)
    for obj in page.items:
        try:
            delete(store, kind, meta.namespace_of(obj), meta.name_of(obj), opts)
        except ApiError as exc:
            if exc.reason != "NotFound":
                raise
    return objects.list_body(kind, objects.Page(page.items, str(store.revision())))
