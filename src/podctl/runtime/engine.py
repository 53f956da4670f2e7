"""Facts about the Docker engine itself: the node a pod runs on."""

from __future__ import annotations

from typing import Any

from podctl.runtime.client import engine_call


def engine_info() -> dict[str, Any]:
    """`docker info` and `docker version` merged into what a Node object needs (two
    plain requests: the SDK's import would cost more than both)."""
    info: dict[str, Any] = engine_call("GET", "/info")
    version: dict[str, Any] = engine_call("GET", "/version")
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(info.get("Architecture", ""),
                                                        info.get("Architecture", ""))
    return {
        "name": str(info.get("Name", "localhost")).lower(),
        "os": str(info.get("OSType", "linux")),
        "arch": arch,
        "os_image": str(info.get("OperatingSystem", "")),
        "kernel": str(info.get("KernelVersion", "")),
        "runtime": f"docker://{version.get('Version', '')}",
        "cpus": int(info.get("NCPU", 1)),
        "memory": int(info.get("MemTotal", 0)),
        "id": str(info.get("ID", "")),
    }
