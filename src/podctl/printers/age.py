"""Ages and timestamps as kubectl prints them.

`human_duration` follows apimachinery pkg/util/duration.HumanDuration, which
kubectl's AGE columns use; timestamps are RFC 3339 like metav1.Time.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from podctl.api.meta import as_utc, parse_time

_NS_PER_SECOND = 1_000_000_000
_NS_PER_MINUTE = 60 * _NS_PER_SECOND
_NS_PER_HOUR = 60 * _NS_PER_MINUTE
# Go's time.Duration is an int64 count of nanoseconds; time.Sub saturates at its bounds.
_MIN_NS, _MAX_NS = -(2**63), 2**63 - 1


def human_duration(seconds: float) -> str:
    """Render a duration like kubectl's AGE column (e.g. `90s`, `2m30s`, `3h10m`, `2y30d`)."""
    if math.isnan(seconds):
        return "<invalid>"
    # Saturate before converting, as Go's time.Sub does, so huge values cannot overflow.
    bound = _MAX_NS / _NS_PER_SECOND
    if seconds >= bound:
        return _human_duration_ns(_MAX_NS)
    if seconds <= -bound:
        return _human_duration_ns(_MIN_NS)
    return _human_duration_ns(_clamp_ns(int(seconds * _NS_PER_SECOND)))


def _clamp_ns(ns: int) -> int:
    return max(_MIN_NS, min(_MAX_NS, ns))


def _truncated_seconds(ns: int) -> int:
    # Go's int(d.Seconds()) truncates toward zero, unlike Python's floor division.
    return ns // _NS_PER_SECOND if ns >= 0 else -(-ns // _NS_PER_SECOND)


def _human_duration_ns(ns: int) -> str:
    """HumanDuration over Go-style integer nanoseconds."""
    seconds = _truncated_seconds(ns)
    # Up to 2s in the future is tolerated as clock skew and shown as "0s".
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = ns // _NS_PER_MINUTE
    if minutes < 10:
        secs = seconds % 60
        return f"{minutes}m" if secs == 0 else f"{minutes}m{secs}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = ns // _NS_PER_HOUR
    if hours < 8:
        mins = minutes % 60
        return f"{hours}h" if mins == 0 else f"{hours}h{mins}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rem_hours = hours % 24
        return f"{hours // 24}d" if rem_hours == 0 else f"{hours // 24}d{rem_hours}h"
    # Years are a flat 365 days in apimachinery.
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    years = hours // 24 // 365
    if hours < 24 * 365 * 8:
        days = hours // 24 % 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{years}y"


def _timedelta_ns(delta: timedelta) -> int:
    """Exact nanoseconds in a timedelta, clamped to Go's Duration range."""
    ns = ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1_000
    return _clamp_ns(ns)


def age(timestamp: str | None, now: datetime) -> str:
    """kubectl's AGE cell: HumanDuration(now - timestamp), `<unknown>` without a timestamp."""
    if not timestamp:
        return "<unknown>"
    return _human_duration_ns(_timedelta_ns(as_utc(now) - parse_time(timestamp)))
