"""kubectl's taint specs."""

from __future__ import annotations

import pytest

from podctl.errors import PodctlError
from podctl.ops.taint import parse_taints


def test_parse_adds_and_removals() -> None:
    add, remove = parse_taints(["k=v:NoSchedule", "bare:NoExecute", "gone-", "x:NoSchedule-"])
    assert add == [{"key": "k", "value": "v", "effect": "NoSchedule"},
                   {"key": "bare", "effect": "NoExecute"}]
    assert remove == [{"key": "gone"}, {"key": "x", "effect": "NoSchedule"}]


def test_bad_effect_and_missing_effect() -> None:
    with pytest.raises(PodctlError, match="invalid taint effect: Never, unsupported taint"):
        parse_taints(["k=v:Never"])
    with pytest.raises(PodctlError, match="invalid taint spec: k=v"):
        parse_taints(["k=v"])
