"""What each kind's registry does to an object on its way to the store (upstream's
strategies: PrepareForCreate, PrepareForUpdate, the status subresource), from the kind's
traits in api.meta.RESOURCES. Pure: no store, no engine."""

from __future__ import annotations

import copy
import random

from podctl.admission.serviceips import carry_over
from podctl.api import crd, meta
from podctl.api.meta import Obj
from podctl.errors import Invalid, Precondition
from podctl.manifest.update import merged

# Fields the server sets: a client's values are dropped on create.
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                 "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink")
# The status a new object starts with, where the API server gives it one at create.
INITIAL_STATUS: dict[str, Obj] = {"Pod": {"phase": "Pending"},
                                  "Namespace": {"phase": "Active"},
                                  "Service": {"loadBalancer": {}},
                                  "PersistentVolume": {"phase": "Pending"},
                                  "PersistentVolumeClaim": {"phase": "Pending"}}


SCHEDULING_GATED = "SchedulingGated"


def prepare_for_create(obj: Obj) -> Obj:
    """A copy without what only the server sets: server-set metadata, and the status of a
    kind that has a status subresource (its own writer fills it)."""
    out = copy.deepcopy(obj)
    md = out.get("metadata")
    if isinstance(md, dict):
        for key in SERVER_FIELDS:
            md.pop(key, None)
    traits = _traits(out)
    if traits.status and not traits.status_on_create:
        out.pop("status", None)
    return out


def generate_name(obj: Obj, rng: random.Random | None = None) -> bool:
    """Give a nameless object with generateName its name; whether it made one."""
    md = obj.get("metadata")
    if not isinstance(md, dict) or md.get("name"):
        return False
    base = md.get("generateName")
    if not isinstance(base, str) or not base:
        return False
    rng = rng or random.Random()
    suffix = "".join(rng.choice(meta.NAME_ALPHABET) for _ in range(5))
    md["name"] = base[:meta.GENERATED_PREFIX_MAX] + suffix
    return True


def initial_status(obj: Obj) -> None:
    """The status the kind starts with, where it has one; a pod with scheduling gates says
    so in its PodScheduled condition (upstream's applySchedulingGatedCondition)."""
    if _defined(_traits(obj)):
        obj["metadata"]["generation"] = 1
    if obj.get("kind") == crd.KIND:  # the naming controller's part: registry._create's
        obj["status"] = crd.initial_status(obj, meta.now_rfc3339())
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if crd.CLEANUP_FINALIZER not in finalizers:
            finalizers.append(crd.CLEANUP_FINALIZER)
    status = INITIAL_STATUS.get(str(obj.get("kind")))
    if status is not None:
        obj["status"] = copy.deepcopy(status)
    if obj.get("kind") == "Pod" and (obj.get("spec") or {}).get("schedulingGates"):
        obj["status"]["conditions"] = [{
            "type": "PodScheduled", "status": "False", "lastProbeTime": None,
            "lastTransitionTime": None, "reason": SCHEDULING_GATED,
            "message": "Scheduling is blocked due to non-empty scheduling gates"}]
    if obj.get("kind") == "PersistentVolume":  # as upstream's PrepareForCreate
        obj["status"]["lastPhaseTransitionTime"] = meta.now_rfc3339()


def prepare_for_update(current: Obj, desired: Obj) -> Obj:
    """The stored object after a full update (PUT) to `desired`: labels, annotations,
    finalizers and owner references as sent, the rest as the kind's rules allow (its
    status and server-set metadata stay as stored). `desired` is the caller's to give
    away: parts of it may become the result's."""
    md = desired["metadata"]
    if md.get("uid") and md["uid"] != meta.uid_of(current):
        raise Precondition(f"Precondition failed: UID in precondition: {md['uid']}, UID in "
                           f"object meta: {meta.uid_of(current)}")
    traits = _traits(current)
    if _defined(traits):
        out = _defined_update(current, desired, traits.status)
        if traits.kind == crd.KIND:
            _definition_unchanged_scope(current, out)
            out["status"] = crd.updated_status(out)
    elif traits.updates is None:
        out = merged(current, desired)
    else:
        out = _fields_updated(current, desired, traits.updates)
    if traits.generation_counts_all and _content(out) != _content(current):
        out["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
    if current["kind"] == "Service":
        carry_over(current, out)
    for key in ("finalizers", "ownerReferences"):
        if md.get(key):
            out["metadata"][key] = copy.deepcopy(md[key])
        else:
            out["metadata"].pop(key, None)
    # The update's precondition: the version the writer read (none: unconditional).
    out["metadata"]["resourceVersion"] = md.get("resourceVersion") or \
        current["metadata"]["resourceVersion"]
    return out


def _fields_updated(current: Obj, desired: Obj, fields: tuple[str, ...]) -> Obj:
    """The stored object with the desired labels, annotations and `fields` (a field the
    update leaves out is dropped, as the API server omits it; an absent spec is empty).
    Copies only the metadata: `desired` is the update's own validated copy, and `current`
    is only read after (deep copies of every write were most of an Endpoints update)."""
    out = {**current, "metadata": meta.clone(current["metadata"])}
    md = desired["metadata"]
    for key in ("labels", "annotations"):
        if md.get(key):
            out["metadata"][key] = dict(md[key])
        else:
            out["metadata"].pop(key, None)
    for key in fields:
        if key in desired:
            out[key] = desired[key]
        elif key == "spec":
            out[key] = {}
        else:
            out.pop(key, None)
    return out


def _content(obj: Obj) -> tuple[Obj, object]:
    """What an EndpointSlice's generation counts: everything but its metadata, and its
    labels."""
    return {k: v for k, v in obj.items() if k != "metadata"}, obj["metadata"].get("labels")


def prepare_for_status(current: Obj, desired: Obj) -> Obj:
    """The stored object with the desired status (the /status subresource): nothing else
    of `desired` is taken."""
    out = copy.deepcopy(current)
    out["status"] = copy.deepcopy(desired.get("status"))
    rv = (desired.get("metadata") or {}).get("resourceVersion")
    out["metadata"]["resourceVersion"] = rv or current["metadata"]["resourceVersion"]
    return out


def _traits(obj: Obj) -> meta.Resource:
    return meta.RESOURCES.get(meta.key_of(obj), _UNKNOWN)


def _definition_unchanged_scope(current: Obj, out: Obj) -> None:
    """A definition's scope is immutable, as upstream's update validation has it."""
    was, now = crd.spec_of(current).get("scope"), crd.spec_of(out).get("scope")
    if was != now:
        name = meta.name_of(current)
        cause = ("spec.scope", f'Invalid value: "{now}": field is immutable')
        raise Invalid(f'The {crd.KIND} "{name}" is invalid: {cause[0]}: {cause[1]}', crd.KIND,
                      name, [cause])


def _defined(traits: meta.Resource) -> bool:
    """A custom resource, or a definition of one: both updated as upstream's generic
    strategies for them do."""
    return traits.custom or traits.kind == "CustomResourceDefinition"


def _defined_update(current: Obj, desired: Obj, status: bool) -> Obj:
    """Everything but metadata (and the status, when a subresource writes it) as sent;
    labels and annotations as sent; the generation counts every other change."""
    out: Obj = {k: v for k, v in desired.items() if k not in ("metadata", "status")}
    if status and "status" in current:
        out["status"] = current["status"]
    elif not status and "status" in desired:
        out["status"] = desired["status"]
    out["metadata"] = meta.clone(current["metadata"])
    for key in ("labels", "annotations"):
        if desired["metadata"].get(key):
            out["metadata"][key] = dict(desired["metadata"][key])
        else:
            out["metadata"].pop(key, None)
    def content(obj: Obj) -> Obj:
        return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    if content(out) != content(current):
        out["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
    return out


_UNKNOWN = meta.Resource("", "", (), "", True)
