"""The registry's side of field management: who writes, and the managedFields an object is
stored with after their write (upstream's FieldManager.Update, with the request object's
own managedFields taken when it sends some, as decodeLiveOrNew takes them)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from podctl.api import meta
from podctl.api.managedfields import fieldset as fp
from podctl.api.managedfields import manager, schema
from podctl.api.managedfields.fieldset import FieldSet
from podctl.api.managedfields.manager import Managed
from podctl.api.managedfields.typed import MISSING, SchemaError
from podctl.api.meta import Obj

_STATUS: FieldSet = frozenset({(fp.field("status"),)})


@dataclass(frozen=True)
class Writer:
    """An API request's writer: its fieldManager (else its user agent's prefix), the
    subresource it writes, and for an apply the managers its merge computed already."""

    manager: str
    subresource: str = ""
    applied: Managed | None = None


def ignored(kind: str, subresource: str) -> manager.Filter:
    """What a write's field management leaves alone (upstream's reset fields): the status
    of a kind with a status subresource, everything but the status on that subresource."""
    if subresource == "status":
        return lambda fields: fp.only_under(fields, _STATUS)
    if kind in meta.RESOURCES and meta.RESOURCES[kind].status:
        return lambda fields: fp.recursive_difference(fields, _STATUS)
    return manager.keep_all


def _without_managed(obj: Obj) -> Obj:
    out = {**obj, "metadata": {k: v for k, v in (obj.get("metadata") or {}).items()
                               if k != "managedFields"}}
    return out


def _is_reset(entries: Any) -> bool:
    return isinstance(entries, list) and (entries == [] or entries == [{}])


def _base(live: Obj | None, sent: Any, writer: Writer) -> Managed:
    """The managers before this write: the request's own when it sends valid ones (an
    empty list resets them), else the live object's."""
    if not writer.subresource and sent is not None:
        if _is_reset(sent):
            return {}
        try:
            found = manager.decode(sent)
        except ValueError:
            found = {}
        if found:
            return found
    try:
        return manager.decode((live or {}).get("metadata", {}).get("managedFields"))
    except ValueError:
        return {}


def track(live: Obj | None, new: Obj, writer: Writer | None, sent: Any = None) -> None:
    """Set `new`'s metadata.managedFields for a write by `writer` from `live` (None: a
    create); `sent` is the request body's own managedFields. A write with no writer (the
    controllers' own) keeps what `new` carries."""
    if writer is None:
        return
    md = new["metadata"]
    if writer.applied is not None:
        managed = writer.applied
    else:
        kind = meta.key_of(new)
        api_version = str(new.get("apiVersion") or meta.api_version(kind))
        t = schema.type_for(api_version, str(new["kind"]))
        before = MISSING if live is None else _without_managed(live)
        try:
            managed = manager.update(before, _without_managed(new), _base(live, sent, writer),
                                     writer.manager, api_version, t, meta.now_rfc3339(),
                                     writer.subresource, ignored(kind, writer.subresource))
        except SchemaError:  # as upstream's UpdateNoErrors: the live object's managers
            managed = _base(live, None, writer)
    if managed:
        md["managedFields"] = manager.encode(managed)
    else:
        md.pop("managedFields", None)


def sent_managed(obj: Obj) -> Any:
    """The managedFields a request body carries (copied: preparing the body drops them)."""
    md = obj.get("metadata")
    return copy.deepcopy(md.get("managedFields")) if isinstance(md, dict) else None
