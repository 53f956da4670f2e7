"""`get`'s quick path (no click) reads its arguments as click's command does, and hands
click whatever it does not know."""

from __future__ import annotations

import pytest

from podctl.cli.get import get
from podctl.cli.getcmd import GetArgs, quick_args

KNOWN = [
    [], ["pods"], ["pods", "a", "b"], ["pod/a", "rc/b"], ["pods,rc"],
    ["pods", "-n", "kube-system"], ["pods", "-nkube-system"], ["pods", "-n=x"],
    ["pods", "--namespace", "x"], ["pods", "--namespace=x"], ["-A", "pods"],
    ["pods", "--all-namespaces"], ["pods", "-o", "wide"], ["pods", "-owide"],
    ["pods", "--output=jsonpath={.items[*].metadata.name}"], ["pods", "-o", "-"],
    ["pods", "-l", "app=x,tier!=db"], ["pods", "--selector", "app in (a,b)"],
    ["pods", "-lapp"], ["pods", "--show-labels", "--no-headers"],
    ["pods", "-n", "a", "-n", "b"], ["-", "pods"], ["pods", "-o", "--no-headers"],
    ["nodes", "-A", "-A"], ["pods", "--selector="],
]

UNKNOWN = [
    ["pods", "-w"], ["pods", "--watch"], ["pods", "--sort-by", ".metadata.name"],
    ["pods", "-L", "app"], ["pods", "--help"], ["-h"], ["pods", "--", "x"],
    ["pods", "-An"], ["pods", "-x"], ["pods", "--bogus"], ["pods", "-n"],
    ["pods", "--output"], ["pods", "--show-labels=true"], ["pods", "-Ao", "wide"],
]


def _click_reading(argv: list[str]) -> GetArgs:
    params = get.make_context("get", list(argv)).params
    return GetArgs(**params)


@pytest.mark.parametrize("argv", KNOWN, ids=" ".join)
def test_the_quick_path_reads_as_click_does(argv: list[str]) -> None:
    assert quick_args(argv) == _click_reading(argv)


@pytest.mark.parametrize("argv", UNKNOWN, ids=" ".join)
def test_what_it_does_not_know_goes_to_click(argv: list[str]) -> None:
    assert quick_args(argv) is None
