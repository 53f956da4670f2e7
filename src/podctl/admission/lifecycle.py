"""NamespaceLifecycle: no new content in a namespace that is missing or being deleted, and
the namespaces the cluster itself needs are never deleted (upstream's plugin of that name)."""

from __future__ import annotations

from podctl.admission import CREATE, DELETE, Attributes, Plugin
from podctl.api import meta
from podctl.errors import Forbidden, NamespaceTerminating, NotFound
from podctl.store import Snapshot, Store

IMMORTAL = ("default", "kube-system", "kube-public")


class NamespaceLifecycle(Plugin):
    name = "NamespaceLifecycle"

    @classmethod
    def for_store(cls, store: Store) -> NamespaceLifecycle:
        return cls()

    def handles(self, attrs: Attributes) -> bool:
        if attrs.operation == DELETE:
            return attrs.kind == "Namespace"
        return attrs.operation == CREATE and attrs.kind in meta.NAMESPACED

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        if attrs.operation == DELETE:
            if attrs.name in IMMORTAL:
                raise Forbidden(f'namespaces "{attrs.name}" is forbidden: this namespace may '
                                "not be deleted")
            return
        namespace = view.get("Namespace", "", attrs.namespace)
        if namespace is None:
            raise NotFound("namespaces", attrs.namespace)
        if namespace["metadata"].get("deletionTimestamp"):
            raise NamespaceTerminating(meta.plural(attrs.kind), attrs.name, attrs.namespace)
