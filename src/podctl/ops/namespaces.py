"""Namespaces: create, and delete together with everything in them."""

from __future__ import annotations

import re

from podctl import registry
from podctl.errors import Invalid
from podctl.store import Store

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def create_namespace(store: Store | None, name: str, dry_run: bool = False) -> str:
    if not _LABEL.fullmatch(name) or len(name) > 63:
        detail = "must be no more than 63 characters" if len(name) > 63 else _LABEL_MESSAGE
        raise Invalid(f'The Namespace "{name}" is invalid: metadata.name: '
                      f'Invalid value: "{name}": {detail}')
    if dry_run:
        return f"namespace/{name} created (dry run)"
    assert store is not None
    registry.create(store, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return f"namespace/{name} created"
