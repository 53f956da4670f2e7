"""`podctl --help` from the cache prints what click prints, and follows what it depends on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PODCTL = str(Path(sys.executable).parent / "podctl")


def run(*args: str, cache: Path, columns: int, entry: list[str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "COLUMNS": str(columns)}
    return subprocess.run([*(entry or [PODCTL]), *args], env=env, capture_output=True,
                          text=True, timeout=60)


def click_help(tmp_path: Path, columns: int) -> str:
    """The help as click prints it, the cache out of the way."""
    printed = run("--help", cache=tmp_path / "unused", columns=columns,
                  entry=[sys.executable, "-m", "podctl.cli"])
    assert printed.returncode == 0, printed.stderr
    assert not (tmp_path / "unused").exists()
    return printed.stdout


@pytest.mark.parametrize("columns", [60, 100])
def test_the_cached_help_is_click_s(tmp_path: Path, columns: int) -> None:
    cache = tmp_path / "cache"
    expected = click_help(tmp_path, columns)
    assert "Usage: podctl [OPTIONS] COMMAND [ARGS]..." in expected
    first = run("--help", cache=cache, columns=columns)
    kept = list((cache / "podctl").iterdir())
    second = run("-h", cache=cache, columns=columns)
    assert (first.returncode, first.stdout, first.stderr) == (0, expected, "")
    assert (second.returncode, second.stdout, second.stderr) == (0, expected, "")
    assert len(kept) == 1 and kept[0].read_text() == expected


def test_each_width_has_its_own_text(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    narrow, wide = (run("--help", cache=cache, columns=c).stdout for c in (60, 100))
    assert narrow != wide
    assert len(list((cache / "podctl").iterdir())) == 2
    assert run("--help", cache=cache, columns=60).stdout == narrow


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    printed = run("--help", cache=blocked, columns=80)
    assert (printed.returncode, printed.stdout) == (0, click_help(tmp_path, 80))
    assert printed.stderr == ""


def test_other_arguments_go_to_click(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    version = run("--version", cache=cache, columns=80)
    assert version.returncode == 0 and version.stdout.startswith("podctl, version ")
    command = run("get", "--help", cache=cache, columns=80)
    assert command.returncode == 0 and command.stdout.startswith("Usage: podctl get ")
    assert not cache.exists()


def test_a_reader_that_left_gets_no_traceback(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for _ in range(2):  # the miss (click prints) and the hit (the kept text)
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            env = {**os.environ, "XDG_CACHE_HOME": str(cache), "COLUMNS": "80"}
            proc = subprocess.run([PODCTL, "--help"], env=env, stdout=write_end,
                                  stderr=subprocess.PIPE, text=True, timeout=60)
        finally:
            os.close(write_end)
        assert (proc.returncode, proc.stderr) == (1, "")
