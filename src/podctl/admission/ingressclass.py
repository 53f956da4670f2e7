"""DefaultIngressClass (upstream's admission plugin of that name): a new Ingress that names
no class, by field or by the legacy annotation, gets the default one."""

from __future__ import annotations

from podctl.admission import CREATE, Attributes, Plugin
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.manifest.networking_rules import CLASS_ANNOTATION, DEFAULT_CLASS_ANNOTATION
from podctl.store import Snapshot, Store


def default_class_name(classes: list[Obj]) -> str | None:
    """The newest class marked default (the name breaks a tie), as upstream picks it."""
    marked = [c for c in classes if (c["metadata"].get("annotations") or {}).get(
        DEFAULT_CLASS_ANNOTATION) == "true"]
    if not marked:
        return None
    return meta.name_of(max(marked, key=lambda c: (
        c["metadata"].get("creationTimestamp") or "", meta.name_of(c))))


class DefaultIngressClass(Plugin):
    name = "DefaultIngressClass"

    @classmethod
    def for_store(cls, _store: Store) -> DefaultIngressClass:
        return cls()

    def handles(self, attrs: Attributes) -> bool:
        return attrs.operation == CREATE and attrs.kind == "Ingress"

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        assert attrs.obj is not None
        spec = attrs.obj.setdefault("spec", {})
        annotations = attrs.obj["metadata"].get("annotations") or {}
        if spec.get("ingressClassName") or CLASS_ANNOTATION in annotations:
            return
        found = default_class_name(view.list("IngressClass"))
        if found is not None:
            spec["ingressClassName"] = found
