"""Image references and the pull policy the API server defaults from them."""

from __future__ import annotations


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference; tag None when absent."""
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag, digest
    return ref, None, digest


def default_pull_policy(ref: str) -> str:
    """Always for :latest or an untagged, undigested image; else IfNotPresent."""
    _, tag, digest = split_reference(ref)
    if digest is None and (tag is None or tag == "latest"):
        return "Always"
    return "IfNotPresent"
