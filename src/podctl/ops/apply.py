"""`apply` and `edit`: update stored objects in place, as the API server allows."""

from __future__ import annotations

import copy
import json

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import NotFound, PodctlError, ServerError
from podctl.manifest.update import LAST_APPLIED, keep_paused
from podctl.ops.deferred import DockerWork
from podctl.ops.followup import after_write
from podctl.store import Store


def missing_annotation_warning(obj: Obj) -> str:
    resource = f"{meta.plural(meta.key_of(obj))}/{meta.name_of(obj)}"
    return (f"resource {resource} is missing the {LAST_APPLIED} annotation which is required "
            "by podctl apply. podctl apply should only be used on resources created "
            "declaratively by either podctl create --save-config or podctl apply. The missing "
            "annotation will be patched automatically.")


def _applied(fresh: Obj, desired: Obj) -> Obj:
    """The object kubectl's apply makes of the stored one: the desired object, at the
    stored version, keeping what apply never set (owner references, finalizers, a
    Deployment paused by `rollout pause`)."""
    out = copy.deepcopy(desired)
    md, stored_md = out.setdefault("metadata", {}), fresh["metadata"]
    for key in ("uid", "resourceVersion", "namespace"):
        if key in stored_md:
            md[key] = stored_md[key]
    for key in ("finalizers", "ownerReferences"):
        if key not in md and key in stored_md:
            md[key] = copy.deepcopy(stored_md[key])
    _keep_annotations(md, stored_md)
    if fresh["kind"] == "Deployment" and isinstance(out.get("spec"), dict):
        keep_paused(out["spec"], fresh)
    return out


def _keep_annotations(md: Obj, stored_md: Obj) -> None:
    """Annotations apply never set (a binder's, a scheduler's) stay, as kubectl's
    three-way merge keeps map keys that neither the last applied nor the new
    configuration names."""
    stored = stored_md.get("annotations") or {}
    try:
        last = json.loads(stored.get(LAST_APPLIED) or "{}")
    except ValueError:
        last = {}
    applied = ((last.get("metadata") or {}).get("annotations") or {}) \
        if isinstance(last, dict) else {}
    kept = {k: v for k, v in stored.items()
            if k not in applied and k not in (md.get("annotations") or {})}
    if kept:
        md["annotations"] = {**kept, **(md.get("annotations") or {})}


def with_last_applied(obj: Obj, written: Obj) -> Obj:
    """The object carrying what the user applied, as kubectl records it."""
    out = copy.deepcopy(obj)
    annotations = out["metadata"].setdefault("annotations", {})
    annotations[LAST_APPLIED] = json.dumps(written, sort_keys=True, separators=(",", ":")) + "\n"
    return out


def update_object(store: Store, existing: Obj, desired: Obj, docker: DockerWork,
                  validation: str = registry.STRICT) -> bool:
    """Write `desired` over the stored object through the registry (a PUT of what kubectl's
    patch would make of it, re-made on a conflict from whatever is stored then); False when
    nothing changed."""
    read: Obj = {}

    def change(fresh: Obj) -> bool:
        read.clear()
        read.update(copy.deepcopy(fresh))
        applied = _applied(fresh, desired)
        fresh.clear()
        fresh.update(applied)
        return True

    kind = meta.key_of(existing)
    namespace = meta.namespace_of(existing) if kind in meta.NAMESPACED else ""
    name = meta.name_of(existing)
    stored = registry.mutate(store, kind, namespace, name, change, meta.uid_of(existing),
                             validation=validation)
    if stored is None:
        raise NotFound(meta.plural(kind), name)
    if stored["metadata"]["resourceVersion"] == read["metadata"]["resourceVersion"]:
        return False
    spec_changed = stored.get("spec") != read.get("spec")
    if stored["kind"] == "Pod" and spec_changed:
        from podctl.kubelet.sync import sync_pod

        # the new image; a pod that ran keeps its old container meanwhile
        docker.run(lambda: sync_pod(store, namespace, name))
    after_write(store, stored, docker)
    return True


def apply_object(store: Store, obj: Obj, written: Obj, source: str, docker: DockerWork,
                 validation: str = registry.STRICT) -> tuple[str, str | None]:
    """Create or update one object (`obj` checked and defaulted, `written` as the manifest
    has it: what the registry gets, with the last-applied annotation); kubectl's line and
    an optional warning."""
    from podctl.ops.create import create_object

    if not meta.name_of(obj):
        # kubectl names the object by what it has: its generateName
        raise PodctlError(f"from {obj['metadata'].get('generateName')}: cannot use generate "
                          "name with apply")
    desired = with_last_applied(written, written)
    ns = meta.namespace_of(obj) if meta.key_of(obj) in meta.NAMESPACED else ""
    existing = store.get(meta.key_of(obj), ns, meta.name_of(obj))
    label = f"{meta.singular(meta.key_of(obj))}/{meta.name_of(obj)}"
    if existing is None:
        return create_object(store, desired, docker, source, namespace=ns or None,
                             validation=validation), None
    warning = None
    if LAST_APPLIED not in (existing["metadata"].get("annotations") or {}):
        warning = missing_annotation_warning(existing)
    changed = update_object(store, existing, desired, docker, validation)
    return f"{label} {'configured' if changed else 'unchanged'}", warning


CONFLICT_HELP = """Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts"""


def server_side_apply(store: Store, written: Obj, docker: DockerWork, manager: str,
                      force: bool, validation: str = registry.STRICT) -> str:
    """`apply --server-side`: the manifest applied by `manager` through the API's own
    server-side apply (the same merge, managedFields and conflicts kubectl meets there);
    kubectl's line. A conflict is kubectl's message and advice."""
    from podctl.apiserver.apply import apply as server_apply
    from podctl.apiserver.params import WriteOptions
    from podctl.apiserver.status import ApiError
    from podctl.ops.create import start_stored

    kind = str(written.get("kind"))
    namespaced = kind in meta.NAMESPACED
    namespace = (meta.namespace_of(written) or "default") if namespaced else ""
    opts = WriteOptions(validation=validation, manager=manager, force=force)
    try:
        result = server_apply(store, kind, namespace, meta.name_of(written), written, opts)
    except ApiError as exc:
        if exc.reason == "Conflict" and (exc.details or {}).get("causes"):
            raise PodctlError(f"{exc.message}\n{CONFLICT_HELP}") from exc
        error = ServerError(exc.message)
        error.reason = exc.reason
        raise error from exc
    start_stored(store, result.obj, docker)
    return f"{meta.singular(kind)}/{meta.name_of(written)} serverside-applied"
