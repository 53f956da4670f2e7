"""The ephemeral volume controller (upstream's pkg/controller/volume/ephemeral): a pod's
generic ephemeral volume gets its claim `<pod>-<volume>`, made from the volume's template
and owned by the pod, so it goes with the pod."""

from __future__ import annotations

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, Invalid
from podctl.store import Store

CONTROLLER = "ephemeral_volume"


def ensure_claims(store: Store, pod: Obj) -> None:
    """Make the claims of the pod's ephemeral volumes that do not exist yet (one that exists
    and is not the pod's is left alone: the scheduler says so)."""
    md = pod["metadata"]
    for volume in pod["spec"].get("volumes") or []:
        template = (volume.get("ephemeral") or {}).get("volumeClaimTemplate")
        if not isinstance(template, dict):
            continue
        name = f"{md['name']}-{volume['name']}"
        if store.get("PersistentVolumeClaim", md["namespace"], name) is not None:
            continue
        try:
            registry.create(store, claim_for(pod, name, template))
        except AlreadyExists:
            pass  # made meanwhile
        except Invalid as exc:  # a name too long, say: the pod waits, and says why
            store.record_event(pod, "Warning", "FailedBinding",
                               f"ephemeral volume {volume['name']}: {exc}", CONTROLLER)


def claim_for(pod: Obj, name: str, template: Obj) -> Obj:
    md = pod["metadata"]
    template_md = template.get("metadata") or {}
    claim_md: Obj = {"name": name, "namespace": md["namespace"], "ownerReferences": [{
        "apiVersion": "v1", "kind": "Pod", "name": md["name"], "uid": md["uid"],
        "controller": True, "blockOwnerDeletion": True}]}
    for key in ("labels", "annotations"):
        if template_md.get(key):
            claim_md[key] = dict(template_md[key])
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": claim_md,
            "spec": meta.clone(template.get("spec") or {})}


def owners_gone(store: Store, claim: Obj) -> bool:
    """The claim has owners and none of them exists any more (the garbage collector's test:
    an ephemeral volume's pod, a StatefulSet whose retention policy deletes its claims)."""
    refs = [r for r in claim["metadata"].get("ownerReferences") or []
            if r.get("kind") in meta.RESOURCES]
    if not refs:
        return False
    namespace = meta.namespace_of(claim)
    for ref in refs:
        kind = str(ref["kind"])
        owner = store.get(kind, namespace if kind in meta.NAMESPACED else "",
                          str(ref.get("name")))
        if owner is not None and meta.uid_of(owner) == ref.get("uid"):
            return False
    return True
