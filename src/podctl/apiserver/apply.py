"""PATCH with application/apply-patch+yaml: server-side apply. The configuration is merged
into the live object (or a new one: an apply creates what is absent) by the kind's
structured-merge schema, the managers' fields are updated and conflicts refused (409
naming the managers and fields) unless `force`, then the result is written through the
registry like any update. No HTTP here."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from podctl import registry
from podctl.api import meta
from podctl.api.managedfields import manager, schema
from podctl.api.managedfields.typed import MISSING, SchemaError, drop_nulls
from podctl.api.managedfields.writer import Writer, ignored
from podctl.api.meta import Obj
from podctl.apiserver import objects
from podctl.apiserver.params import WriteOptions
from podctl.apiserver.status import ApiError
from podctl.controllers.bind import store_and_bind
from podctl.errors import AlreadyExists, Conflict
from podctl.manifest.schema import decode_structure, load_schema
from podctl.store import Store

CONFLICT_RETRIES = 5


@dataclass
class Result:
    obj: Obj
    created: bool


def apply(store: Store, kind: str, namespace: str, name: str, body: Any,
          opts: WriteOptions, subresource: str = "", api_version: str | None = None
          ) -> Result:
    """Apply `body` as `opts.manager` (to the status subresource: its status only) in
    `api_version` (the request's; a custom kind may serve several); the stored (or, dry
    run, would-be) object."""
    from podctl.apiserver.writes import refuse_read_only

    if not subresource:
        refuse_read_only(kind)
    api_version = api_version or meta.api_version(kind)
    config = _config(kind, namespace, name, body, api_version)
    t = schema.type_for(api_version, meta.RESOURCES[kind].kind)
    # A configuration naming a resourceVersion is applied to that version only.
    pinned = config["metadata"].get("resourceVersion")
    for _ in range(CONFLICT_RETRIES):
        current = store.get(kind, namespace, name)
        if current is None and subresource:
            raise objects.not_found(kind, name)
        live = MISSING if current is None else _live(kind, current, api_version)
        try:
            managed = manager.decode((current or {}).get("metadata", {}).get("managedFields"))
        except ValueError:
            managed = {}
        try:
            result = _merged(kind, live, config, managed, opts, t, subresource, api_version)
        except manager.ApplyConflict as exc:
            raise ApiError("Conflict", str(exc), {"causes": exc.causes()}) from exc
        except SchemaError as exc:
            raise ApiError("BadRequest", f"failed to merge config: {exc}") from exc
        writer = Writer(opts.manager, subresource, applied=result.managed)
        try:
            if current is None:
                return Result(_create(store, kind, namespace, result.obj, opts, writer), True)
            desired = result.obj if result.obj is not None else copy.deepcopy(live)
            desired["metadata"]["resourceVersion"] = pinned or \
                current["metadata"]["resourceVersion"]
            if subresource:
                return Result(registry.update_status(store, desired, dry_run=opts.dry_run,
                                                     writer=writer), False)
            if opts.guard is not None:
                opts.guard(desired)
            return Result(registry.update(store, desired, dry_run=opts.dry_run,
                                          writer=writer), False)
        except Conflict as exc:
            if pinned:
                raise ApiError("Conflict", str(exc), {"name": name,
                                                      "kind": meta.RESOURCES[kind].name}
                               ) from exc
            continue  # written meanwhile: merge again into what is there now
        except AlreadyExists:
            continue
    raise ApiError("Conflict", str(Conflict(meta.plural(kind), name)))


def _merged(kind: str, live: Any, config: Obj, managed: manager.Managed, opts: WriteOptions,
            t: schema.Type, subresource: str, api_version: str) -> manager.Applied:
    """The apply, as upstream's field manager chain makes it for kubectl: its conflicts
    with what the object's last-applied configuration still describes are no conflicts
    (the upgrade from client-side apply), and that annotation follows what it applies."""

    def run(force: bool) -> manager.Applied:
        return manager.apply(live, config, managed, opts.manager, api_version, t,
                             meta.now_rfc3339(), force, subresource,
                             ignored(kind, subresource))

    upgrading = opts.manager == manager.KUBECTL and live is not MISSING and not subresource
    try:
        result = run(opts.force)
    except manager.ApplyConflict as exc:
        allowed = manager.allowed_by_last_applied(live, api_version, t) if upgrading else None
        if allowed is None:
            raise
        left = [(who, path) for who, path in exc.conflicts if path not in allowed]
        if left:
            raise manager.ApplyConflict.of(left) from exc
        result = run(True)
    if upgrading:
        base = result.obj if result.obj is not None else live
        updated = manager.with_last_applied(base, config)
        if updated is not base:
            result.obj = drop_nulls(updated)
    return result


def _live(kind: str, current: Obj, api_version: str) -> Obj:
    out = objects.with_type(kind, current, api_version)
    out["metadata"] = {k: v for k, v in out["metadata"].items() if k != "managedFields"}
    return out


def _create(store: Store, kind: str, namespace: str, obj: Obj, opts: WriteOptions,
            writer: Writer) -> Obj:
    if opts.guard is not None:
        opts.guard(obj)
    if kind == "Pod":
        return store_and_bind(store, obj, namespace or None, dry_run=opts.dry_run,
                              writer=writer)
    return registry.create(store, obj, namespace or None, dry_run=opts.dry_run,
                           writer=writer)


def _config(kind: str, namespace: str, name: str, body: Any, api_version: str) -> Obj:
    """The applied configuration, checked as upstream's apply patcher checks it."""
    if not isinstance(body, dict):
        raise ApiError("BadRequest", "error decoding YAML: json: cannot unmarshal "
                       f"{_json_kind(body)} into Go value of type map[string]interface {{}}")
    if body.get("apiVersion") != api_version:
        raise ApiError("BadRequest", "Incorrect version specified in apply patch. Specified "
                       f"patch version: {body.get('apiVersion') or ''}, expected: "
                       f"{api_version}")
    kind_name = meta.RESOURCES[kind].kind
    if body.get("kind") != kind_name:
        raise ApiError("BadRequest", f"the object provided is unrecognized (must be of type "
                       f"{kind_name}): {body.get('kind')}")
    md = body.get("metadata")
    if not isinstance(md, dict):
        md = {}
    if md.get("managedFields") is not None:
        raise ApiError("BadRequest", "metadata.managedFields must be nil")
    if md.get("name") not in (None, name):
        raise ApiError("BadRequest", f"the name of the object ({md.get('name')}) does not "
                       f"match the name on the URL ({name})")
    if kind in meta.NAMESPACED and md.get("namespace") not in (None, "", namespace):
        raise ApiError("BadRequest", "the namespace of the provided object does not match "
                       "the namespace sent on the request")
    _check_fields(kind, body)
    config = copy.deepcopy(body)
    config.setdefault("metadata", {})["name"] = name
    if kind in meta.NAMESPACED:
        config["metadata"]["namespace"] = namespace
    return config


def _check_fields(kind: str, body: Obj) -> None:
    """Every field of the configuration declared in the kind's schema, as upstream's
    typed conversion requires, in its words. Upstream answers a 500 without a reason; a
    client's mistake is a 400 here (no input makes podctl's API answer 5xx)."""
    if kind not in load_schema().kinds:
        return
    found = decode_structure(copy.deepcopy(body), kind, prune=False)
    problems = [f".{u.split(chr(34))[1]}: field not declared in schema" for u in found.unknown]
    if found.error is not None:
        problems.append(found.error)
    if not problems:
        return
    md: Obj = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
    group, _, version = meta.api_version(kind).rpartition("/")
    where = f"{md.get('namespace') or ''}/{md.get('name') or ''}; {group}/{version}, " \
            f"Kind={kind}"
    text = problems[0] if len(problems) == 1 else "errors:\n" + "\n".join(
        "  " + p for p in problems)
    raise ApiError("BadRequest", f"failed to create typed patch object ({where}): {text}")


def _json_kind(value: Any) -> str:
    from podctl.apiserver.bodies import json_kind

    return json_kind(value)
