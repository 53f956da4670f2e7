"""The writing verbs: the body decoded as the API server's decoder reads it, then the one
write path every door shares — podctl.registry for POST, PUT, PATCH (once the patch is
applied) and the status subresource, controllers.deletion.delete_object for DELETE — and
the scale subresource. No HTTP here."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from podctl import registry
from podctl.api import crd, meta
from podctl.api.labels import go_quote
from podctl.api.managedfields.writer import Writer
from podctl.api.meta import Obj
from podctl.apiserver import events, objects, openapi
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
from podctl.controllers.deletion import delete_object
from podctl.controllers.replication import set_replicas
from podctl.errors import Conflict, NotFound
from podctl.manifest.schema import decode_structure, go_type, load_schema
from podctl.store import Store

CONFLICT_RETRIES = 5
# A stored kind seen through another group version: (to it, back to the stored kind).
Conversion = tuple[Callable[[Obj], Obj], Callable[[Obj], Obj]]


def refuse_read_only(kind: str) -> None:
    if meta.RESOURCES[kind].written_by:
        raise read_only(kind)


def read_only(kind: str) -> ApiError:
    """The refusal of a write to a kind podctl writes itself."""
    return ApiError("MethodNotAllowed", f"{meta.RESOURCES[kind].written_by}; they cannot be "
                    "written through the API", {})


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
    if kind in meta.RESOURCES and meta.RESOURCES[kind].custom:
        return _decoded_custom(kind, out, opts, patched)
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


def _decoded_custom(key: str, body: Obj, opts: WriteOptions, patched: str | None) -> Obj:
    """A custom resource's fields its schema does not declare: pruned, refused under
    Strict, each a warning under Warn (upstream's unknown-field handling for CRs)."""
    from podctl.api import crschema

    definition = crd.DEFINITIONS.get(key)
    version = str(body.get("apiVersion") or "").rpartition("/")[2]
    resource = meta.RESOURCES[key]
    schema = crd.schema_of(definition, version if version in resource.versions else
                           crd.storage_version(definition)) if definition else None
    if schema is None:
        return body
    unknown = [f'unknown field "{path}"' for path in crschema.prune(body, schema)]
    strict_errors = [*opts.duplicates, *unknown]
    if strict_errors and opts.strict:
        raise _decode_failure(key, "strict decoding error: " + ", ".join(strict_errors),
                              patched)
    if opts.validation == WARN:
        opts.warnings.extend(e for e in strict_errors if e not in opts.warnings)
    return body


def _decode_failure(kind: str, message: str, patched: str | None) -> ApiError:
    """A body that does not decode: BadRequest as create and update answer it, Invalid on
    `patch` as patch does (the patched object in the message)."""
    if patched is None:
        version = meta.api_version(kind).rpartition("/")[2] if kind in meta.RESOURCES \
            else "v1"
        shown = meta.RESOURCES[kind].kind if kind in meta.RESOURCES else kind
        return ApiError("BadRequest", f'{shown} in version "{version}" cannot be handled as '
                        f"a {shown}: {message}")
    return invalid("", "", [("patch", f"Invalid value: {go_quote(patched)}: {message}")])


def decoded_body(kind: str, namespace: str, body: Any, opts: WriteOptions | None = None,
                 patched: str | None = None) -> Obj:
    """The body decoded as the API server reads it, in the request's namespace."""
    opts = opts if opts is not None else WriteOptions(validation=STRICT)
    shown = meta.RESOURCES[kind].kind if kind in meta.RESOURCES else kind
    if isinstance(body, dict) and body.get("kind") not in (None, shown):
        raise ApiError("BadRequest", f'the object provided is unrecognized (must be of type '
                       f'{shown}): {body.get("kind")}')
    body = decoded(kind, body, opts, patched)
    body.setdefault("kind", shown)
    body.setdefault("apiVersion", meta.api_version(kind))
    md = body.setdefault("metadata", {})
    if not isinstance(md, dict):
        md = body["metadata"] = {}
    if kind in meta.NAMESPACED:
        if md.get("namespace") and md["namespace"] != namespace:
            raise ApiError("BadRequest", "the namespace of the provided object does not match "
                           "the namespace sent on the request")
        md["namespace"] = namespace
    out: Obj = body
    return out


def create(store: Store, kind: str, namespace: str, body: Any, opts: WriteOptions) -> Obj:
    """POST: the body decoded, then the registry's create (a pod then bound to the node);
    an Event as clients post theirs."""
    if kind == "Event":
        return events.create(store, namespace, decoded_body(kind, namespace, body, opts), opts)
    refuse_read_only(kind)
    obj = decoded_body(kind, namespace, body, opts)
    if opts.guard is not None:
        opts.guard(obj)
    if kind == "Pod":
        return store_and_bind(store, obj, namespace or None, dry_run=opts.dry_run,
                              writer=_writer(opts))
    return registry.create(store, obj, namespace or None, dry_run=opts.dry_run,
                           writer=_writer(opts))


def _writer(opts: WriteOptions, subresource: str = "") -> Writer:
    return Writer(opts.manager, subresource)


def _stored(store: Store, kind: str, namespace: str, name: str) -> Obj:
    obj = store.get(kind, namespace, name)
    if obj is None:
        raise objects.not_found(kind, name)
    return obj


def replace(store: Store, kind: str, namespace: str, name: str, body: Any,
            opts: WriteOptions, patched: str | None = None, writer: Writer | None = None
            ) -> Obj:
    """PUT: a full update; Conflict when the body's resourceVersion is not the stored one."""
    refuse_read_only(kind)
    current = _stored(store, kind, namespace, name)
    desired = decoded_body(kind, namespace, body, opts, patched)
    if desired["metadata"].get("name") != name:
        raise ApiError("BadRequest", "the name of the object "
                       f'({desired["metadata"].get("name")}) does not match the name on the '
                       f"URL ({name})")
    desired["metadata"]["namespace"] = meta.namespace_of(current)
    if opts.guard is not None:
        opts.guard(desired)
    try:
        return registry.update(store, desired, dry_run=opts.dry_run,
                               writer=writer or _writer(opts))
    except Conflict as exc:
        raise ApiError("Conflict", str(exc), {"name": name, "kind": meta.RESOURCES[kind].name}
                       ) from exc


def patch(store: Store, kind: str, namespace: str, name: str, content_type: str, body: Any,
          opts: WriteOptions, view: Conversion | None = None) -> Obj:
    """PATCH: the patch applied to the stored object, written as an update (retried on a
    conflict when the patch itself names no resourceVersion). `view`: the patch is on the
    object as another group version serves it (to it, and back to the stored kind)."""
    refuse_read_only(kind)
    for _ in range(CONFLICT_RETRIES):
        current = _stored(store, kind, namespace, name)
        patched = _patched(kind, current, content_type, body, view)
        pinned = _resource_version(patched) != current["metadata"]["resourceVersion"]
        if not pinned and isinstance(patched.get("metadata"), dict):
            patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        text = _patch_text(content_type, body, patched)
        try:
            return replace(store, kind, namespace, name,
                           view[1](patched) if view is not None else patched, opts, text)
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


def _patched(kind: str, current: Obj, content_type: str, body: Any,
             view: Conversion | None = None) -> Obj:
    served = view[0](current) if view is not None else objects.with_type(kind, current)
    name = openapi.schema_name(meta.RESOURCES[kind].kind, served.get("apiVersion")) \
        if view is not None else openapi.schema_name(kind)
    schema = {"$ref": openapi.COMPONENTS + (name or "")}
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
    body = decoded(kind, body, opts, patched)
    md = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    desired = {"kind": kind, "status": body.get("status"),
               "metadata": {"name": name, "namespace": namespace,
                            "resourceVersion": md.get("resourceVersion")}}
    try:
        return registry.update_status(store, desired, dry_run=opts.dry_run,
                                      writer=_writer(opts, "status"))
    except Conflict as exc:
        raise ApiError("Conflict", str(exc)) from exc


def patch_status(store: Store, kind: str, namespace: str, name: str, content_type: str,
                 body: Any, opts: WriteOptions, view: Conversion | None = None) -> Obj:
    current = _stored(store, kind, namespace, name)
    patched = _patched(kind, current, content_type, body, view)
    text = _patch_text(content_type, body, patched)
    return replace_status(store, kind, namespace, name,
                          view[1](patched) if view is not None else patched, opts, text)


def scale_of(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale of an RC, ReplicaSet or Deployment, or a custom resource."""
    key = meta.key_of(obj)
    if key in crd.DEFINITIONS:
        return crd.scale_of(crd.DEFINITIONS[key], obj)
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
    if set_replicas(store, kind, namespace, name, replicas, _writer(opts, "scale")) is None:
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
    """DELETE through podctl's one delete (controllers.deletion.delete_object): the marked
    object, or a Success Status when it is gone."""
    if not meta.RESOURCES[kind].user_deletes:
        refuse_read_only(kind)
    current = _stored(store, kind, namespace, name)
    group = meta.api_version(kind).rpartition("/")[0]
    gone = success(meta.RESOURCES[kind].name, name, meta.uid_of(current), group)
    done = delete_object(store, kind, namespace, name, grace=opts.grace,
                         propagation=opts.propagation, uid=opts.uid,
                         resource_version=opts.resource_version, dry_run=opts.dry_run)
    return gone if done.marked is None else objects.with_type(kind, done.marked)


def delete_collection(store: Store, kind: str, namespace: str | None,
                      query: ListOptions, opts: DeleteOptions) -> Obj:
    page = objects.list_objects(store, kind, namespace, query)
    for obj in page.items:
        try:
            delete(store, kind, meta.namespace_of(obj), meta.name_of(obj), opts)
        except NotFound:
            continue
        except ApiError as exc:
            if exc.reason != "NotFound":
                raise
    return objects.list_body(kind, objects.Page(page.items, str(store.revision())))
