"""`get`'s quick path (no click) reads its arguments as click's command does, and hands
click whatever it does not know."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from podctl.cli.get import get
from podctl.cli.getcmd import GetArgs, quick_args, run

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


@pytest.mark.parametrize(("args", "said"), [
    (("nodes",), "No resources found\n"),
    (("namespaces", "nope"), 'Error from server (NotFound): namespaces "nope" not found\n'),
    (("pods,nodes",), "No resources found in default namespace.\n"),
    (("configmaps", "-n", "x"), "No resources found in x namespace.\n"),
])
def test_an_empty_answer_names_a_namespace_only_for_namespaced_kinds(
        args: tuple[str, ...], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    parsed = quick_args(list(args))
    assert parsed is not None
    with contextlib.suppress(SystemExit):
        run(parsed)
    assert capsys.readouterr().err == said
