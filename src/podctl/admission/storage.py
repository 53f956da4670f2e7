"""DefaultStorageClass and StorageObjectInUseProtection (upstream's admission plugins of
those names): a new claim that names no class gets the default one, and new claims and
volumes get the finalizer that keeps them while they are in use."""

from __future__ import annotations

from fractions import Fraction

from podctl.admission import CREATE, UPDATE, Attributes, Plugin
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.api.quantity import parse_quantity
from podctl.errors import Forbidden
from podctl.manifest.storage_rules import class_of, is_default_class
from podctl.store import Snapshot, Store

PROTECTION = {"PersistentVolumeClaim": "kubernetes.io/pvc-protection",
              "PersistentVolume": "kubernetes.io/pv-protection"}


def default_class_name(classes: list[Obj]) -> str | None:
    """The newest class marked default (the name breaks a tie), as upstream picks it."""
    marked = [c for c in classes if is_default_class(c)]
    if not marked:
        return None
    return meta.name_of(max(marked, key=lambda c: (
        c["metadata"].get("creationTimestamp") or "", meta.name_of(c))))


class DefaultStorageClass(Plugin):
    name = "DefaultStorageClass"

    @classmethod
    def for_store(cls, _store: Store) -> DefaultStorageClass:
        return cls()

    def handles(self, attrs: Attributes) -> bool:
        return attrs.operation == CREATE and attrs.kind == "PersistentVolumeClaim"

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        assert attrs.obj is not None
        spec = attrs.obj.setdefault("spec", {})
        if "storageClassName" in spec:
            return  # named, or "" (no class, on purpose)
        found = default_class_name(view.list("StorageClass"))
        if found is not None:
            spec["storageClassName"] = found


class StorageObjectInUseProtection(Plugin):
    name = "StorageObjectInUseProtection"

    @classmethod
    def for_store(cls, _store: Store) -> StorageObjectInUseProtection:
        return cls()

    def handles(self, attrs: Attributes) -> bool:
        return attrs.operation == CREATE and attrs.kind in PROTECTION

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        assert attrs.obj is not None
        finalizers = attrs.obj["metadata"].setdefault("finalizers", [])
        if PROTECTION[attrs.kind] not in finalizers:
            finalizers.append(PROTECTION[attrs.kind])


class PersistentVolumeClaimResize(Plugin):
    """A bound claim may ask for more storage only when its class allows expansion."""

    name = "PersistentVolumeClaimResize"

    @classmethod
    def for_store(cls, _store: Store) -> PersistentVolumeClaimResize:
        return cls()

    def handles(self, attrs: Attributes) -> bool:
        return attrs.operation == UPDATE and attrs.kind == "PersistentVolumeClaim"

    def validate(self, attrs: Attributes, view: Snapshot) -> None:
        assert attrs.obj is not None and attrs.old is not None
        if _storage(attrs.obj) <= _storage(attrs.old):
            return
        refused = f'persistentvolumeclaims "{attrs.name}" is forbidden: '
        if (attrs.old.get("status") or {}).get("phase") != "Bound":
            raise Forbidden(refused + "Only bound persistent volume claims can be expanded")
        storage_class = view.get("StorageClass", "", class_of(attrs.obj)) or {}
        if not storage_class.get("allowVolumeExpansion"):
            raise Forbidden(refused + "only dynamically provisioned pvc can be resized and "
                            "the storageclass that provisions the pvc must support resize")


def _storage(claim: Obj) -> Fraction:
    raw = ((claim.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
    value = parse_quantity(raw) if isinstance(raw, str | int | float) else None
    return value if value is not None else Fraction(0)
