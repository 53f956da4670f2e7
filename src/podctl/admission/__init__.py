"""Admission: the ordered chain of plugins every write passes after the registry validated
it and before the store keeps it, as the API server's admission chain.

Upstream's order: every plugin's mutating half (`admit`) in chain order, then every
plugin's validating half (`validate`) in chain order. Both halves run inside the store's
write transaction (`Snapshot`), so what a plugin checked (the namespace is not being
deleted) or took (a cluster IP) cannot change before the write commits. `prepare` runs
before the transaction, for work that may call the engine (reserving the service range).

The chain is made of named slots, in upstream's order. A plugin takes its slot with
`register(name, factory)`; slots nobody registered are skipped. The slots the next issues
fill: ServiceAccount (a default service account and its token volume), LimitRanger
(defaults and bounds from LimitRanges), DefaultTolerationSeconds (not-ready/unreachable
tolerations on pods), ResourceQuota (usage against quotas, last: it must see the final
object) and CustomResourceValidation (a CRD's schema). A factory takes the store the chain
will admit writes to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podctl.api.meta import Obj
from podctl.store import Snapshot, Store

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"

# Upstream's recommended order (kube-apiserver's ordered plugins), with podctl's Service
# allocator where the Service registry allocates: after the mutating plugins that may still
# change the object, before quota, which must count what is really stored.
SLOTS = ("NamespaceLifecycle", "LimitRanger", "ServiceAccount", "DefaultTolerationSeconds",
         "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize",
         "DefaultIngressClass", "ServiceIPAllocator",
         "ResourceQuota", "CustomResourceValidation")


@dataclass
class Attributes:
    """One write, as the plugins see it: `obj` is what will be stored (mutating plugins
    change it in place), `old` what is stored now (update and delete)."""

    operation: str
    kind: str
    namespace: str
    name: str
    obj: Obj | None
    old: Obj | None = None
    dry_run: bool = False
    # What a plugin's prepare found, for its admit (keyed by the plugin's name).
    prepared: dict[str, Any] = field(default_factory=dict)


class Plugin:
    """An admission plugin: override the halves it has; the others admit everything."""

    name = ""

    def handles(self, attrs: Attributes) -> bool:
        return True

    def prepare(self, attrs: Attributes) -> None:
        """Outside the write transaction: may call the engine or write bootstrap objects."""

    def admit(self, attrs: Attributes, view: Snapshot) -> None:
        """The mutating half: may change attrs.obj, or refuse by raising."""

    def validate(self, attrs: Attributes, view: Snapshot) -> None:
        """The validating half: refuses by raising, never changes the object."""


class Chain:
    """Plugins in chain order."""

    def __init__(self, plugins: list[Plugin]) -> None:
        self.plugins = plugins

    def prepare(self, attrs: Attributes) -> None:
        for plugin in self._for(attrs):
            plugin.prepare(attrs)

    def run(self, attrs: Attributes, view: Snapshot) -> None:
        """Every mutating half, then every validating half."""
        plugins = self._for(attrs)
        for plugin in plugins:
            plugin.admit(attrs, view)
        for plugin in plugins:
            plugin.validate(attrs, view)

    def admitter(self, attrs: Attributes) -> Callable[[Snapshot], None]:
        """The chain as the store's `admit` hook for this write."""
        return lambda view: self.run(attrs, view)

    def _for(self, attrs: Attributes) -> list[Plugin]:
        return [p for p in self.plugins if p.handles(attrs)]


Factory = Callable[[Store], Plugin]
_registered: dict[str, Factory] = {}
_builtins: list[str] = []  # filled once the built-in plugins took their slots


def register(slot: str, factory: Factory) -> None:
    """Put a plugin in its slot of the chain (replacing whatever held it)."""
    if slot not in SLOTS:
        raise ValueError(f"no admission slot {slot!r}: one of {', '.join(SLOTS)}")
    _registered[slot] = factory


def chain_for(store: Store) -> Chain:
    """The registered plugins, in slot order, for writes to `store`."""
    _register_builtins()
    return Chain([_registered[slot](store) for slot in SLOTS if slot in _registered])


def _register_builtins() -> None:
    if _builtins:
        return
    from podctl.admission.ingressclass import DefaultIngressClass
    from podctl.admission.lifecycle import NamespaceLifecycle
    from podctl.admission.limitranger import LimitRanger
    from podctl.admission.resourcequota import ResourceQuota
    from podctl.admission.serviceaccount import ServiceAccountAdmission
    from podctl.admission.serviceips import ServiceIPAllocator
    from podctl.admission.storage import (
        DefaultStorageClass,
        PersistentVolumeClaimResize,
        StorageObjectInUseProtection,
    )
    from podctl.admission.tolerations import DefaultTolerationSeconds

    for slot, factory in (("NamespaceLifecycle", NamespaceLifecycle.for_store),
                          ("ServiceAccount", ServiceAccountAdmission.for_store),
                          ("DefaultTolerationSeconds", DefaultTolerationSeconds.for_store),
                          ("DefaultStorageClass", DefaultStorageClass.for_store),
                          ("StorageObjectInUseProtection",
                           StorageObjectInUseProtection.for_store),
                          ("PersistentVolumeClaimResize",
                           PersistentVolumeClaimResize.for_store),
                          ("DefaultIngressClass", DefaultIngressClass.for_store),
                          ("ServiceIPAllocator", ServiceIPAllocator.for_store),
                          ("LimitRanger", LimitRanger.for_store),
                          ("ResourceQuota", ResourceQuota.for_store)):
        _registered.setdefault(slot, factory)
        _builtins.append(slot)
