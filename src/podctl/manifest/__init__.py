"""Manifest loading and validation: read -f files, check them like the API server, default them."""

from podctl.manifest.check import Checked, check_document, invalid_summary
from podctl.manifest.defaults import default_pod_spec
from podctl.manifest.load import Document, FileResult, read_manifests
from podctl.manifest.problems import ManifestError, Problem
from podctl.manifest.render import Excerpt, excerpts, format_problems

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
