"""Query parameters as the API server decodes and validates them: ListOptions for lists
and watches, Create/Update/Patch options for writes. A value that does not decode is a 400
in Go's words (`strconv.ParseInt: parsing "abc": invalid syntax`); one that decodes but is
not allowed is a 422 on the options kind (`ListOptions.meta.k8s.io "" is invalid: ...`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podctl.api.labels import go_quote
from podctl.apiserver.status import ApiError, invalid

META_GROUP = "meta.k8s.io"
_INT = re.compile(r"[+-]?[0-9]+")
EXACT, NOT_OLDER_THAN = "Exact", "NotOlderThan"
STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"
FIELD_MANAGER_MAX = 128


def go_int(text: str, bits: int = 64) -> int:
    """strconv.ParseInt(text, 10, bits), a 400 in Go's words when it fails."""
    if not _INT.fullmatch(text):
        raise ApiError("BadRequest", f"strconv.ParseInt: parsing {go_quote(text)}: "
                       "invalid syntax")
    limit = 1 << (bits - 1)
    if len(text.lstrip("+-").lstrip("0")) > 20 or not -limit <= int(text) < limit:
        raise ApiError("BadRequest", f"strconv.ParseInt: parsing {go_quote(text)}: "
                       "value out of range")
    return int(text)


def parse_resource_version(text: str) -> int:
    """A resourceVersion as the storage layer parses it (strconv.ParseUint); ValueError
    with the field error upstream words."""
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > 20 or \
            int(text) >= 1 << 64:
        reason = "invalid syntax" if not (text.isascii() and text.isdigit()) else \
            "value out of range"
        raise ValueError(f"resourceVersion: Invalid value: {go_quote(text)}: "
                         f"strconv.ParseUint: parsing {go_quote(text)}: {reason}")
    return int(text)


def go_bool(text: str | None) -> bool:
    """A boolean query parameter as apimachinery reads it: only absence, "false" and "0"
    are false."""
    return text is not None and text.lower() not in ("false", "0")


def _optional_int(query: Mapping[str, str], name: str) -> int | None:
    text = query.get(name)
    return None if text is None else go_int(text)


@dataclass
class ListOptions:
    label_selector: str | None = None
    field_selector: str | None = None
    limit: int = 0
    continue_token: str | None = None
    resource_version: str = ""
    resource_version_match: str = ""
    timeout_seconds: int | None = None
    watch: bool = False
    allow_bookmarks: bool = False
    send_initial_events: bool | None = None


def list_options(query: Mapping[str, str]) -> ListOptions:
    """The ListOptions of a list or watch request, decoded and validated."""
    initial = query.get("sendInitialEvents")
    opts = ListOptions(
        label_selector=query.get("labelSelector") or None,
        field_selector=query.get("fieldSelector") or None,
        limit=_optional_int(query, "limit") or 0,
        continue_token=query.get("continue") or None,
        resource_version=query.get("resourceVersion") or "",
        resource_version_match=query.get("resourceVersionMatch") or "",
        timeout_seconds=_optional_int(query, "timeoutSeconds"),
        watch=go_bool(query.get("watch")),
        allow_bookmarks=go_bool(query.get("allowWatchBookmarks")),
        send_initial_events=None if initial is None else go_bool(initial))
    errors = _watch_errors(opts) if opts.watch else _list_errors(opts)
    if errors:
        raise invalid("ListOptions", "", errors, META_GROUP)
    return opts


def _forbidden(path: str, detail: str) -> tuple[str, str]:
    return path, f"Forbidden: {detail}"


def _unsupported(path: str, value: str, allowed: Sequence[str]) -> tuple[str, str]:
    return path, (f"Unsupported value: {go_quote(value)}: supported values: "
                  + ", ".join(go_quote(a) for a in allowed))


def _list_errors(opts: ListOptions) -> list[tuple[str, str]]:
    errors = []
    match = opts.resource_version_match
    if match:
        if not opts.resource_version:
            errors.append(_forbidden("resourceVersionMatch", "resourceVersionMatch is "
                                     "forbidden unless resourceVersion is provided"))
        if opts.continue_token:
            errors.append(_forbidden("resourceVersionMatch", "resourceVersionMatch is "
                                     "forbidden when continue is provided"))
        if match not in (EXACT, NOT_OLDER_THAN):
            errors.append(_unsupported("resourceVersionMatch", match,
                                       (EXACT, NOT_OLDER_THAN, "")))
        if match == EXACT and opts.resource_version == "0":
            errors.append(_forbidden("resourceVersionMatch", 'resourceVersionMatch "exact" '
                                     'is forbidden for resourceVersion "0"'))
    if opts.send_initial_events is not None:
        errors.append(_forbidden("sendInitialEvents", "sendInitialEvents is forbidden for "
                                 "list"))
    return errors


def _watch_errors(opts: ListOptions) -> list[tuple[str, str]]:
    errors = []
    match = opts.resource_version_match
    if opts.send_initial_events is not None and match != NOT_OLDER_THAN:
        errors.append(_forbidden("resourceVersionMatch", "sendInitialEvents requires "
                                 f"setting resourceVersionMatch to {NOT_OLDER_THAN}"))
    if match:
        if opts.send_initial_events is None:
            errors.append(_forbidden("resourceVersionMatch", "resourceVersionMatch is "
                                     "forbidden for watch unless sendInitialEvents is "
                                     "provided"))
        if match != NOT_OLDER_THAN:
            errors.append(_unsupported("resourceVersionMatch", match, (NOT_OLDER_THAN,)))
        if opts.continue_token:
            errors.append(_forbidden("resourceVersionMatch", "resourceVersionMatch is "
                                     "forbidden when continue is provided"))
    return errors


@dataclass
class WriteOptions:
    """What a write request asks besides its body: a dry run, how unknown and duplicate
    fields are treated, and the warnings the answer carries."""

    dry_run: bool = False
    validation: str = WARN
    warnings: list[str] = field(default_factory=list)
    # Strict decoding errors the body's decoder found itself (fields given twice).
    duplicates: list[str] = field(default_factory=list)
    # Refuses the object the write would store by raising (authz's escalation check).
    guard: Callable[[dict[str, Any]], None] | None = None
    # The fieldManager (else the user agent's prefix) whose fields managedFields record.
    manager: str = ""
    # An apply's `force`: take the fields other managers own.
    force: bool = False

    @property
    def strict(self) -> bool:
        return self.validation == STRICT


def dry_run_errors(values: Sequence[str]) -> list[tuple[str, str]]:
    if all(v == "All" for v in values):
        return []
    shown = ", ".join(go_quote(v) for v in values)
    return [("dryRun", f'Unsupported value: []string{{{shown}}}: supported values: "All"')]


def write_options(dry_run: Sequence[str], query: Mapping[str, str],
                  options_kind: str, patch_type: str = "") -> WriteOptions:
    """Create/Update/PatchOptions from the query; `dry_run` is every dryRun value given,
    `patch_type` a PATCH's media type."""
    errors = _apply_errors(query, options_kind, patch_type)
    errors += dry_run_errors(dry_run)
    directive = query.get("fieldValidation") or ""
    if directive not in ("", IGNORE, STRICT, WARN):
        errors.append(_unsupported("fieldValidation", directive, ("", IGNORE, STRICT, WARN)))
    errors += _field_manager_errors(query.get("fieldManager") or "")
    if errors:
        raise invalid(options_kind, "", errors, META_GROUP)
    # The server's default, as upstream's since server-side field validation: Warn.
    return WriteOptions(bool(dry_run), directive or WARN, manager=query.get("fieldManager")
                        or "", force=go_bool(query.get("force")))


APPLY_PATCH = "application/apply-patch+yaml"


def _apply_errors(query: Mapping[str, str], options_kind: str,
                  patch_type: str) -> list[tuple[str, str]]:
    """upstream's ValidatePatchOptions: `force` is an apply's alone, and an apply names
    its field manager."""
    if options_kind != "PatchOptions":
        return []
    if patch_type != APPLY_PATCH:
        return [_forbidden("force", "may not be specified for non-apply patch")] \
            if "force" in query else []
    return [("fieldManager", "Required value: is required for apply patch")] \
        if not query.get("fieldManager") else []


def _field_manager_errors(manager: str) -> list[tuple[str, str]]:
    errors = []
    if len(manager.encode()) > FIELD_MANAGER_MAX:
        errors.append(("fieldManager", f"Too long: may not be more than {FIELD_MANAGER_MAX} "
                       "bytes"))
    for index, ch in enumerate(manager):
        if not ch.isprintable():  # as Go's unicode.IsPrint
            position = len(manager[:index].encode())
            errors.append(("fieldManager", f"Invalid value: {go_quote(manager)}: invalid "
                           f"character U+{ord(ch):04X} (at position {position})"))
    return errors
