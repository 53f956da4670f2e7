"""The shell scripts behind `make`: they parse, pass shellcheck when it is installed, and the
demo's manifests exist (the demo itself needs Docker and runs as `make demo`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted([*ROOT.glob("scripts/*.sh"), ROOT / "images" / "build.sh"])
DEMO = ROOT / "scripts" / "demo.sh"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_parses(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck() -> None:
    result = subprocess.run(["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_demo_manifests_exist() -> None:
    used = re.findall(r"-f (manifests/\S+)", DEMO.read_text())
    assert used, "the demo creates nothing from manifests/"
    assert [path for path in used if not (ROOT / path).is_file()] == []
