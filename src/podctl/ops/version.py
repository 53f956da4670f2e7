"""`podctl version`: podctl's own version, the Kubernetes API it mirrors, the Docker engine's."""

from __future__ import annotations

import platform
import sys
from typing import Any

from podctl import __version__

_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def client_version() -> dict[str, str]:
    """podctl's version in the shape of kubectl's clientVersion."""
    major, minor, *_ = __version__.split(".")
    machine = platform.machine().lower()
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{__version__}",
        "pythonVersion": platform.python_version(),
        "platform": f"{sys.platform}/{_ARCH.get(machine, machine)}",
    }


def schema_version() -> str:
    """The Kubernetes release whose v1 schema podctl validates against and explains."""
    from podctl.manifest.schema import load_schema

    return f"v{load_schema().version}"


def server_version() -> dict[str, Any]:
    """The Docker engine's version in the shape of kubectl's serverVersion."""
    from podctl.runtime.client import docker_api, translate_errors

    with translate_errors():
        info = docker_api().version()
    engine = str(info.get("Version", ""))
    major, _, rest = engine.partition(".")
    return {
        "engine": "Docker Engine",
        "major": major,
        "minor": rest.partition(".")[0],
        "gitVersion": engine,
        "apiVersion": str(info.get("ApiVersion", "")),
        "gitCommit": str(info.get("GitCommit", "")),
        "goVersion": str(info.get("GoVersion", "")),
        "buildDate": str(info.get("BuildTime", "")),
        "platform": f"{info.get('Os', '')}/{info.get('Arch', '')}",
    }
