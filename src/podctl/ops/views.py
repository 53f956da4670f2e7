"""Read side: which stored objects a command names (names, label selectors)."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.labels import Selector, SelectorError, parse_selector
from podctl.api.meta import Obj
from podctl.errors import NotFound, PodctlError


def user_selector(text: str | None) -> Selector | None:
    """Parse a -l value; a bad one is a user error."""
    if not text:
        return None
    try:
        return parse_selector(text)
    except SelectorError as exc:
        raise PodctlError(str(exc)) from exc


def select(objs: list[Obj], names: list[str], selector: Selector | None, kind: str,
           missing: list[NotFound] | None = None) -> list[Obj]:
    """Filter by names (in the order given) and a label selector.

    A missing name is NotFound: raised, or collected in `missing` when one is given (kubectl
    get prints what it found and then an error per missing name).
    """
    if names:
        by_name = {meta.name_of(o): o for o in objs}
        absent = [NotFound(meta.plural(kind), n) for n in names if n not in by_name]
        if absent and missing is None:
            raise absent[0]
        if missing is not None:
            missing.extend(absent)
        objs = [by_name[n] for n in dict.fromkeys(names) if n in by_name]
    if selector is not None:
        objs = [o for o in objs if selector.matches(meta.labels_of(o))]
    return objs
