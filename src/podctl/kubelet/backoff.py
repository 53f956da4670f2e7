"""The kubelet's crash-loop back-off: first restart at once, then 10 s doubling to 5 min."""

from __future__ import annotations

BASE_SECONDS = 10.0
MAX_SECONDS = 300.0
RESET_SECONDS = 2 * MAX_SECONDS


def backoff_delay(quick_restarts: int) -> float:
    """Delay before the next restart after this many restarts in a row without a reset."""
    if quick_restarts <= 0:
        return 0.0
    return float(min(MAX_SECONDS, BASE_SECONDS * 2 ** (quick_restarts - 1)))
