"""The registry: the one path every object write takes — podctl's commands, the API and the
controllers — as the API server's generic registry store with each kind's strategy.

create: server-set fields and the status dropped, generateName, validation and defaults
(podctl.manifest's rules), the kind's initial status, admission (podctl.admission: the
namespace's lifecycle, Service allocation...), stored. update (PUT, and PATCH once the patch
is applied): validation, the kind's update rules, admission, stored at the resourceVersion
the writer read. update_status: the /status subresource. bind: the pods/binding
subresource (the scheduler's write). mutate: read-modify-write through update, retried on
a conflict. Deletion (marks, finalizers, cascades) is the deletion model's:
podctl.controllers.deletion.delete_object.

Nothing here prints or speaks HTTP: errors are podctl's (Invalid, NotFound, AlreadyExists,
Forbidden, Conflict), each kubectl's line; the API turns them into Status bodies.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

from podctl.admission import CREATE, UPDATE, Attributes, Chain, chain_for
from podctl.api import crd, meta
from podctl.api.managedfields.writer import Writer, sent_managed, track
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, Conflict, Invalid, NotFound, ServerError
from podctl.registry import strategy
from podctl.store import Store
from podctl.store.db import CONFLICT_RETRIES as CONFLICT_RETRIES
from podctl.store.db import read_modify_write

STRICT = "Strict"
GENERATE_ATTEMPTS = 8  # generated names that may collide before the create gives up


def create(store: Store, obj: Obj, namespace: str | None = None, *,
           validation: str = STRICT, dry_run: bool = False, chain: Chain | None = None,
           context: str = "", writer: Writer | None = None) -> Obj:
    """Store a new object (namespace: where one without its own goes, else `default`);
    the stored object. `context` prefixes the server's errors as kubectl does for a file's
    object (`error when creating "FILE": `). `writer`: the API request's, whose fields
    the object's managedFields record."""
    sent = sent_managed(obj) if writer is not None else None
    prepared = strategy.prepare_for_create(obj)
    generated = strategy.generate_name(prepared)
    for _ in range(GENERATE_ATTEMPTS):
        try:
            return _create(store, prepared, namespace, validation, dry_run, chain,
                           (writer, sent))
        except AlreadyExists as exc:
            if generated:
                prepared["metadata"].pop("name")
                strategy.generate_name(prepared)
                continue
            if context:
                raise in_context(exc, context) from exc
            raise
        except ServerError as exc:
            if context:
                raise in_context(exc, context) from exc
            raise
    raise AlreadyExists(meta.plural(meta.key_of(obj)), meta.name_of(prepared), context)


# The namespaces the API server's system-namespaces controller keeps from a cluster's start.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")


def ensure_namespace(store: Store, name: str) -> None:
    """The namespace, made unless it exists (a racing maker's create is as good)."""
    if store.get("Namespace", "", name) is None:
        with contextlib.suppress(AlreadyExists):
            create(store, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def in_context(exc: ServerError, context: str) -> ServerError:
    """The server's error as kubectl prints it for one file's object: `error when creating
    "FILE": <message>`."""
    if isinstance(exc, NotFound | AlreadyExists):
        return type(exc)(exc.resource, exc.name, context)
    out = ServerError(context + str(exc))
    out.reason = exc.reason
    return out


def _create(store: Store, prepared: Obj, namespace: str | None, validation: str,
            dry_run: bool, chain: Chain | None,
            fields: tuple[Writer | None, object] = (None, None)) -> Obj:
    checked = validated(prepared, namespace, validation)
    _check_rules(checked, None, str(prepared.get("apiVersion") or ""))
    strategy.initial_status(checked)
    track(None, checked, *fields)
    kind = meta.key_of(checked)
    if kind == crd.KIND:
        checked["status"] = crd.accepted_status(checked, store.list(crd.KIND),
                                                meta.now_rfc3339())
    _refuse_if_terminating(kind)
    attrs = Attributes(CREATE, kind, _namespace(checked), meta.name_of(checked), checked,
                       dry_run=dry_run)
    admission = chain or chain_for(store)
    admission.prepare(attrs)
    if dry_run:
        store.check(admission.admitter(attrs))
        checked["metadata"].setdefault("uid", meta.new_uid())
        checked["metadata"]["creationTimestamp"] = meta.now_rfc3339()
        return checked
    return store.create(checked, admit=admission.admitter(attrs))


def _refuse_if_terminating(kind: str) -> None:
    """No new object of a custom kind whose definition is being deleted (upstream's
    handler refuses it so)."""
    definition = crd.DEFINITIONS.get(kind)
    if definition is not None and definition["metadata"].get("deletionTimestamp"):
        refused = ServerError("create not allowed while custom resource definition is "
                              "terminating")
        refused.reason = "MethodNotAllowed"
        raise refused


def validated(obj: Obj, namespace: str | None, validation: str = STRICT) -> Obj:
    """The object checked and defaulted by the kind's rules; Invalid with its field errors
    in kubectl's words. Kinds podctl's rules do not cover pass as they are."""
    kind = meta.key_of(obj)
    if kind in meta.RESOURCES and not meta.RESOURCES[kind].validated:
        out: Obj = meta.clone(obj)
        if kind in meta.NAMESPACED:
            out["metadata"].setdefault("namespace", namespace or "default")
        return out
    from podctl.manifest import Document, check_document, invalid_summary

    checked = check_document(Document("", 0, obj, None), namespace, validation)
    if checked.obj is None:
        md = obj.get("metadata")
        md = md if isinstance(md, dict) else {}
        name = str(md.get("name") or md.get("generateName") or "")
        problems = checked.problems
        shown = meta.RESOURCES[kind].kind if kind in meta.RESOURCES else kind
        raise Invalid(invalid_summary(shown, name, problems), shown, name,
                      [field_cause(p.message) for p in problems])
    return checked.obj


# A field path: names and dots, subscripts holding anything (`data[bad key]`).
_FIELD = re.compile(r"((?:[\w.-]|\[[^\]]*\])+): (.*)", re.DOTALL)


def field_cause(message: str) -> tuple[str, str]:
    """`spec.x: Required value` -> (field, rest), as a Status cause holds them."""
    found = _FIELD.fullmatch(message)
    return (found.group(1), found.group(2)) if found else ("", message)


def update(store: Store, desired: Obj, *, validation: str = STRICT, dry_run: bool = False,
           chain: Chain | None = None, writer: Writer | None = None) -> Obj:
    """A full update (PUT) of the stored object `desired` names: Conflict when it names a
    resourceVersion that is no longer the stored one; the stored object. `writer`: the
    API request's, whose changes the object's managedFields record."""
    kind = meta.key_of(desired)
    current = _stored(store, kind, _namespace(desired), meta.name_of(desired))
    # Validation works on a copy (defaulting makes it), so the body's need not be deep.
    body = {k: v for k, v in desired.items()
            if not (k == "status" and meta.RESOURCES[kind].status)}
    checked = validated(body, _namespace(current) or None, validation)
    checked["metadata"]["resourceVersion"] = desired["metadata"].get("resourceVersion")
    checked["metadata"]["uid"] = desired["metadata"].get("uid")
    out = strategy.prepare_for_update(current, checked)
    track(current, out, writer, desired["metadata"].get("managedFields"))
    attrs = Attributes(UPDATE, kind, _namespace(current), meta.name_of(current), out,
                       old=current, dry_run=dry_run)
    if _unchanged(out, current):
        return current  # as upstream, an update that changes nothing writes nothing
    _check_rules(out, current, str(desired.get("apiVersion") or ""))
    admission = chain or chain_for(store)
    admission.prepare(attrs)
    if dry_run:
        store.check(admission.admitter(attrs))
        return out
    stored = store.update(out, admit=admission.admitter(attrs))
    _finish_if_finalized(store, stored)
    return stored


def _check_rules(obj: Obj, old: Obj | None, api_version: str) -> None:
    """A custom resource's CEL rules (x-kubernetes-validations): Invalid, as the schema's
    other errors, naming each field."""
    resource = meta.RESOURCES.get(meta.key_of(obj))
    if resource is None or not resource.custom:
        return
    from podctl.manifest.custom import rule_errors

    causes = rule_errors(obj, old, api_version)
    if causes:
        from podctl.manifest import invalid_summary
        from podctl.manifest.problems import Problem

        shown, name = str(obj.get("kind")), meta.name_of(obj)
        problems = [Problem("", None, None, f"{f}: {m}") for f, m in causes]
        raise Invalid(invalid_summary(shown, name, problems), shown, name, causes)


def _finish_if_finalized(store: Store, obj: Obj) -> None:
    """A marked object whose last finalizer this update removed goes, as the API server
    deletes it then (pods and namespaces have ends of their own)."""
    md = obj["metadata"]
    if obj["kind"] not in ("Pod", "Namespace") and md.get("deletionTimestamp") and \
            not md.get("finalizers"):
        store.delete(meta.key_of(obj), _namespace(obj), meta.name_of(obj), md.get("uid"))


def _unchanged(out: Obj, current: Obj) -> bool:
    return out == current


def update_status(store: Store, desired: Obj, *, dry_run: bool = False,
                  writer: Writer | None = None) -> Obj:
    """The /status subresource: only the status is written."""
    kind = meta.key_of(desired)
    current = _stored(store, kind, _namespace(desired), meta.name_of(desired))
    out = strategy.prepare_for_status(current, desired)
    if kind in crd.DEFINITIONS:
        # a custom resource's status is checked against its schema as the whole object is
        out["status"] = validated(out, _namespace(current) or None).get("status")
    _check_rules(out, current, str(desired.get("apiVersion") or ""))
    track(current, out, writer)
    if dry_run:
        return out
    return store.update_status(out, managed_fields=writer is not None)


def bind(store: Store, namespace: str, name: str, node: str, uid: str | None = None) -> Obj:
    """The pods/binding subresource, as upstream's BindingREST: the pod's spec.nodeName set
    once, at the resourceVersion read. Conflict for a pod bound already or being deleted;
    NotFound when the pod (with that uid) is gone. The bound pod."""
    for _ in range(CONFLICT_RETRIES):
        pod = _stored(store, "Pod", namespace, name)
        if uid is not None and meta.uid_of(pod) != uid:
            raise NotFound("pods", name)
        if pod["spec"].get("nodeName"):
            raise Conflict("pods/binding", name, f"pod {name} is already assigned to node "
                                                 f'"{pod["spec"]["nodeName"]}"')
        if pod["metadata"].get("deletionTimestamp"):
            raise Conflict("pods/binding", name,
                           f"pod {name} is being deleted, cannot be assigned to a host")
        pod["spec"]["nodeName"] = node
        try:
            return store.update(pod)
        except Conflict:
            continue
    raise Conflict("pods", name)


def mutate(store: Store, kind: str, namespace: str, name: str, change: Callable[[Obj], bool],
           uid: str | None = None, *, validation: str = STRICT, chain: Chain | None = None,
           writer: Writer | None = None) -> Obj | None:
    """Read-modify-write through update: `change` edits a copy in place and says whether
    it changed anything; on a Conflict it runs again on a fresh read. None when the object
    (with that uid) is gone; the stored object otherwise."""
    # Each read is a fresh object of this call's own: `change` may edit it in place.
    return read_modify_write(
        lambda: store.get(kind, namespace, name), change,
        lambda current: update(store, current, validation=validation, chain=chain,
                               writer=writer),
        kind, name, uid)


def _stored(store: Store, kind: str, namespace: str, name: str) -> Obj:
    found = store.get(kind, namespace, name)
    if found is None:
        raise NotFound(meta.plural(kind), name)
    return found


def _namespace(obj: Obj) -> str:
    """The object's namespace (`default` when it names none), "" for cluster-scoped kinds."""
    return (meta.namespace_of(obj) or "default") if meta.key_of(obj) in meta.NAMESPACED \
        else ""
