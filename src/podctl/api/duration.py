"""Go's time.Duration as text: parsed as Go's time.ParseDuration reads it (the API's
`timeout` parameter, kubectl's duration flags) and printed as its String() writes it."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
          "h": 3600.0}
_NUMBER = re.compile(r"\d*(\.\d*)?")
_UNIT = re.compile(r"[^\d.]*")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration ("1m30s", "250ms", "1.5h"), as the `timeout` parameter is
    written; ValueError with Go's wording otherwise."""
    rest = text[1:] if text[:1] in ("+", "-") else text
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0.0
    while rest:
        number = _NUMBER.match(rest)
        digits = number.group(0) if number else ""
        if digits in ("", "."):
            raise ValueError(f'time: invalid duration "{text}"')
        rest = rest[len(digits):]
        unit_match = _UNIT.match(rest)
        unit = unit_match.group(0) if unit_match else ""
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        total += float(digits) * _UNITS[unit]
        rest = rest[len(unit):]
    return -total if text.startswith("-") else total


def go_duration(nanos: int) -> str:
    """metav1.Duration as Go prints it (1h2m3s, 500ms)."""
    if nanos == 0:
        return "0s"
    seconds, rest = divmod(nanos, 1_000_000_000)
    if seconds == 0:
        return f"{rest / 1_000_000:g}ms"
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{seconds + rest / 1e9:g}s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    return f"{hours}h{text}" if hours else text
