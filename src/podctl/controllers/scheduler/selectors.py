"""Label selectors as the scheduler reads them from pods: a null selector matches nothing,
and matchLabelKeys / mismatchLabelKeys narrow it by the incoming pod's own labels."""

from __future__ import annotations

from podctl.api import labels as lbl
from podctl.api import meta
from podctl.api.meta import Obj


def from_spec(spec: object, pod: Obj, match_keys: object = None,
              mismatch_keys: object = None) -> lbl.Selector | None:
    """The selector (None: matches nothing, as a null or malformed one does); each
    matchLabelKeys key the pod has adds `key in (value)`, each mismatchLabelKeys key
    `key notin (value)`, as the API server merges them into the stored selector."""
    if not isinstance(spec, dict):
        return None
    try:
        selector = lbl.selector_from_label_selector(spec)
    except (KeyError, TypeError, ValueError):
        return None
    own = meta.labels_of(pod)
    extra = [lbl.Requirement(str(k), lbl.IN, (own[k],))
             for k in _keys(match_keys) if k in own]
    extra += [lbl.Requirement(str(k), lbl.NOT_IN, (own[k],))
              for k in _keys(mismatch_keys) if k in own]
    return lbl.Selector(selector.requirements + tuple(extra)) if extra else selector


def _keys(keys: object) -> list[str]:
    return [str(k) for k in keys] if isinstance(keys, list) else []


def matches(selector: lbl.Selector | None, obj: Obj) -> bool:
    return selector is not None and selector.matches(meta.labels_of(obj))


def integer(value: object, default: int) -> int:
    """An integer field as validation would have let it through, else the default."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default
