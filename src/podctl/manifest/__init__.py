"""Manifest loading and validation: read -f files, check them like the API server, default them.

The names below load with their submodule on first use: commands that only need a small
part (defaults, names) must not pay for the YAML parser and the schema.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podctl.manifest.check import Checked, check_document, invalid_summary
    from podctl.manifest.defaults import default_pod_spec
    from podctl.manifest.load import Document, FileResult, read_manifests
    from podctl.manifest.problems import ManifestError, Problem
    from podctl.manifest.render import Excerpt, excerpts, format_problems

_SUBMODULE = {
    "Checked": "check", "check_document": "check", "invalid_summary": "check",
    "default_pod_spec": "defaults",
    "Document": "load", "FileResult": "load", "read_manifests": "load",
    "ManifestError": "problems", "Problem": "problems",
    "Excerpt": "render", "excerpts": "render", "format_problems": "render",
}

__all__ = [
    "Checked",
    "Document",
    "Excerpt",
    "FileResult",
    "ManifestError",
    "Problem",
    "check_document",
    "default_pod_spec",
    "excerpts",
    "format_problems",
    "invalid_summary",
    "read_manifests",
]


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULE.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value
    return value
