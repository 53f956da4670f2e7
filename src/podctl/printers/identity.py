"""kubectl's columns and describe layout for ServiceAccounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import Lines, describe_events, multiline_map

SA_HEADERS = ["NAME", "SECRETS", "AGE"]


def sa_row(sa: Obj, now: datetime, wide: bool) -> list[str]:
    return [sa["metadata"]["name"], str(len(sa.get("secrets") or [])),
            age(sa["metadata"].get("creationTimestamp"), now)]


def _names(refs: Any) -> list[str]:
    return [str(r.get("name", "")) for r in refs or [] if isinstance(r, dict)]


def describe_sa(sa: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    """kubectl's describeServiceAccount: names of pull and mountable secrets, no tokens
    (bound tokens are never stored)."""
    md = sa["metadata"]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    multiline_map(w, "Labels", md.get("labels"))
    multiline_map(w, "Annotations", md.get("annotations"), ": ")
    for label, refs in (("Image pull secrets", sa.get("imagePullSecrets")),
                        ("Mountable secrets", sa.get("secrets")), ("Tokens", None)):
        listed = _names(refs)
        w.add(0, f"{label}:\t{listed[0] if listed else '<none>'}")
        for name in listed[1:]:
            w.add(0, f"\t{name}")
    if not events:  # kubectl's one tab block: `Events:` aligns with the fields above
        w.add(0, "Events:\t<none>")
        return w.text()
    return w.text() + describe_events(events, now)
