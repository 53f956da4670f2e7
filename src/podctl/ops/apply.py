"""`apply` and `edit`: update stored objects in place, as the API server allows."""

from __future__ import annotations

import copy
import json

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.services import update_service
from podctl.errors import NotFound
from podctl.manifest.update import LAST_APPLIED, merged
from podctl.ops.deferred import DockerWork
from podctl.ops.session import home_service_range
from podctl.store import Store


def missing_annotation_warning(obj: Obj) -> str:
    resource = f"{meta.plural(obj['kind'])}/{meta.name_of(obj)}"
    return (f"resource {resource} is missing the {LAST_APPLIED} annotation which is required "
            "by podctl apply. podctl apply should only be used on resources created "
            "declaratively by either podctl create --save-config or podctl apply. The missing "
            "annotation will be patched automatically.")


def with_last_applied(obj: Obj, written: Obj) -> Obj:
    """The object carrying what the user applied, as kubectl records it."""
    out = copy.deepcopy(obj)
    annotations = out["metadata"].setdefault("annotations", {})
    annotations[LAST_APPLIED] = json.dumps(written, sort_keys=True, separators=(",", ":")) + "\n"
    return out


def update_object(store: Store, existing: Obj, desired: Obj, docker: DockerWork) -> bool:
    """Store the merge of desired into the stored object (re-merged on a conflict, as
    kubectl's patch is applied to whatever is stored); False when nothing changed."""
    wrote = spec_changed = False

    def merge(fresh: Obj) -> bool:
        nonlocal wrote, spec_changed
        updated = merged(fresh, desired)
        if fresh["kind"] == "Service":
            updated["spec"] = update_service(store, fresh, desired, home_service_range)["spec"]
        wrote = updated != fresh
        if not wrote:
            return False
        spec_changed = updated.get("spec") != fresh.get("spec")
        fresh.clear()
        fresh.update(updated)
        return True

    namespace = meta.namespace_of(existing) if existing["kind"] in meta.NAMESPACED else ""
    name = meta.name_of(existing)
    stored = store.mutate(existing["kind"], namespace, name, merge, meta.uid_of(existing))
    if stored is None:
        raise NotFound(meta.plural(existing["kind"]), name)
    if not wrote:
        return False
    if stored["kind"] == "Pod" and spec_changed:
        from podctl.kubelet.sync import sync_pod

        # the new image; a pod that ran keeps its old container meanwhile
        docker.run(lambda: sync_pod(store, namespace, name))
    if stored["kind"] in ("ReplicationController", "ReplicaSet", "Deployment"):
        from podctl.ops.replication import reconcile_if_no_controller

        docker.run(lambda: reconcile_if_no_controller(store, namespace, name, stored["kind"]))
    if stored["kind"] == "DaemonSet":
        from podctl.ops.daemonset import reconcile_if_no_controller as reconcile_ds

        docker.run(lambda: reconcile_ds(store, namespace, name))
    if stored["kind"] in ("ConfigMap", "Secret"):
        from podctl.ops.create import users_if_no_controller

        docker.run(lambda: users_if_no_controller(store, stored["kind"], namespace, name))
    return True


def apply_object(store: Store, obj: Obj, written: Obj, source: str,
                 docker: DockerWork) -> tuple[str, str | None]:
    """Create or update one object; kubectl's line and an optional warning."""
    from podctl.ops.create import create_object

    desired = with_last_applied(obj, written)
    ns = meta.namespace_of(obj) if obj["kind"] in meta.NAMESPACED else ""
    existing = store.get(obj["kind"], ns, meta.name_of(obj))
    label = f"{meta.singular(obj['kind'])}/{meta.name_of(obj)}"
    if existing is None:
        return create_object(store, desired, docker, source), None
    warning = None
    if LAST_APPLIED not in (existing["metadata"].get("annotations") or {}):
        warning = missing_annotation_warning(existing)
    changed = update_object(store, existing, desired, docker)
    return f"{label} {'configured' if changed else 'unchanged'}", warning
