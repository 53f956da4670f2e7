"""The pass every owner's controller makes over one object it owns things for
(ReplicationController and ReplicaSet, Job, DaemonSet, Deployment, CronJob; StatefulSet to
come): get it, drive its deletion if it is marked, then under the owner's one lock (the
one its deletion takes) read it again, observe what it owns, plan (a pure function), act
and write its status. Each controller fills in observe, plan and act."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Generic, Protocol, TypeVar

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import FOREGROUND, advance_owner_deletion, mark_owner_deleting
from podctl.controllers.owners import owner_lock, owners_gone, write_status
from podctl.controllers.podcontrol import owner_key
from podctl.controllers.slowstart import OwnerControl
from podctl.store import Store

Key = tuple[str, str, str]  # kind, namespace, name


@dataclass
class SyncResult:
    """What a pass did and what it asks next: objects it made (to start) and pods it marked
    deleting (to stop), other objects that have work now, and when to pass over the owner
    again (0: at once, it changed under the pass; None: no need)."""

    created: list[Obj] = field(default_factory=list)
    deleting: list[Obj] = field(default_factory=list)
    wake: list[Key] = field(default_factory=list)
    requeue_after: float | None = None

    def again(self, delay: float | None) -> None:
        """Ask for another pass after `delay` seconds (the soonest of all asked wins)."""
        if delay is not None:
            self.requeue_after = delay if self.requeue_after is None \
                else min(self.requeue_after, delay)


class Planned(Protocol):
    status: Obj


Seen = TypeVar("Seen")
P = TypeVar("P", bound=Planned)


@dataclass
class Pass(Generic[Seen]):
    """One pass over an owner, read again under its lock."""

    store: Store
    owner: Obj
    control: OwnerControl
    observed: Seen
    now: datetime
    result: SyncResult

    @property
    def manage(self) -> bool:
        """The previous pass's writes are seen: creating or deleting again is safe."""
        return self.control.expectations.satisfied(owner_key(self.owner))


class OwnerSync(ABC, Generic[Seen, P]):
    """The scaffold; a subclass per controller fills in observe, plan and act."""

    kind: str
    dependents: ClassVar[str] = "Pod"  # what it owns
    # Deleted (foreground) by the garbage collector once every owner it names is gone.
    collected: ClassVar[bool] = True

    def run(self, store: Store, namespace: str, name: str,
            control: OwnerControl) -> SyncResult:
        result = SyncResult()
        owner = store.get(self.kind, namespace, name)
        if owner is None:
            control.forget((self.kind, namespace, name))
            result.wake = self._dependents_of_gone(store, namespace, name)
            return result
        self._pass(store, owner, control, result)
        controller = meta.controller_of(owner)
        if controller is not None:
            # Its status (a ReplicaSet's ready pods, a Job's success) is its controller's
            # input: a Deployment's rollout, a CronJob's active list.
            result.wake.append((str(controller.get("kind")), namespace,
                                str(controller.get("name"))))
        return result

    def _pass(self, store: Store, owner: Obj, control: OwnerControl,
              result: SyncResult) -> None:
        if self.collected and not owner["metadata"].get("deletionTimestamp") \
                and owners_gone(store, owner):
            owner = mark_owner_deleting(store, owner, FOREGROUND) or owner
        if owner["metadata"].get("deletionTimestamp"):
            self.advance_deletion(store, owner, result)
            return
        with owner_lock(meta.uid_of(owner)):
            fresh = store.get(self.kind, meta.namespace_of(owner), meta.name_of(owner))
            if fresh is None or fresh["metadata"].get("deletionTimestamp"):
                result.again(0.0 if fresh is not None else None)
                return
            step = Pass(store, fresh, control, self.observe(store, fresh), datetime.now(UTC),
                        result)
            plan = self.plan(step)
            self.act(step, plan)
            if not self.write(step, plan):
                result.again(0.0)  # it changed meanwhile: the status describes an old spec
                return
        self.after(step, plan)

    @abstractmethod
    def observe(self, store: Store, owner: Obj) -> Seen:
        """What the plan is made from, read under the owner's lock."""

    @abstractmethod
    def plan(self, step: Pass[Seen]) -> P:
        """The pure plan: a function of the owner, what was observed and the time."""

    @abstractmethod
    def act(self, step: Pass[Seen], plan: P) -> None:
        """Carry the plan out, noting what was done in step.result."""

    def write(self, step: Pass[Seen], plan: P) -> bool:
        """Write the status computed from the owner as read; False when it changed."""
        return write_status(step.store, step.owner, plan.status)

    def after(self, step: Pass[Seen], plan: P) -> None:
        """What is done once the owner's lock is released (its own deletion)."""

    def advance_deletion(self, store: Store, owner: Obj, result: SyncResult) -> None:
        """One step of a marked owner's deletion."""
        result.deleting = advance_owner_deletion(store, owner)

    def _dependents_of_gone(self, store: Store, namespace: str, name: str) -> list[Key]:
        """The objects that named a deleted owner as controller and are not being deleted
        yet: the garbage collector's."""
        return [(self.dependents, namespace, meta.name_of(o))
                for o in store.list(self.dependents, namespace)
                if (meta.controller_of(o) or {}).get("kind") == self.kind
                and (meta.controller_of(o) or {}).get("name") == name
                and not o["metadata"].get("deletionTimestamp")]
