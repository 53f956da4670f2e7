"""Images and pull policy: Always / IfNotPresent / Never, as the kubelet applies them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podctl.api.images import split_reference
from podctl.runtime import engines
from podctl.runtime.client import api_error, docker_api, engine_call, translate_errors


@dataclass(frozen=True)
class PullProgress:
    """One step of a pull for one layer, as Docker reports it."""

    layer: str
    status: str  # Waiting, Downloading, Extracting, Pull complete...
    detail: str  # Docker's progress bar, often empty


ProgressFn = Callable[[PullProgress], None]


@dataclass(frozen=True)
class ImageResult:
    """What ensuring an image did, for events and the container's waiting reason."""

    ok: bool
    pulled: bool = False
    seconds: float = 0.0
    size: int = 0
    reason: str = ""  # ErrImagePull, ErrImageNeverPull, InvalidImageName
    message: str = ""


def image_present(ref: str) -> dict[str, Any] | None:
    """The image's inspect answer, or None when absent (404) or not a valid name (400)."""
    from urllib.parse import quote

    info: dict[str, Any] | None = engine_call(
        "GET", f"/images/{quote(ref, safe='/:')}/json", allow=(400, 404))
    return info


def ensure_image(ref: str, policy: str, progress: ProgressFn | None = None) -> ImageResult:
    """Make the image available per policy; never raises for a pull failure."""
    if policy != "Always":
        info = image_present(ref)
        if info is None and copy_from_host(ref):
            # On a node: an image the host's engine has is the node's too, no registry.
            info = image_present(ref)
        if info is not None:
            return ImageResult(ok=True, size=int(info.get("Size", 0)))
        if policy == "Never":
            return ImageResult(
                ok=False, reason="ErrImageNeverPull",
                message=f'Container image "{ref}" is not present with pull policy of Never',
            )
    return pull(ref, progress)


def pull(ref: str, progress: ProgressFn | None = None) -> ImageResult:
    import docker.errors

    repo, tag, digest = split_reference(ref)
    started = time.monotonic()
    api = docker_api()
    try:
        with translate_errors():
            for line in api.pull(repo, tag=digest or tag or "latest", stream=True, decode=True):
                if "error" in line:
                    return ImageResult(ok=False, reason="ErrImagePull",
                                       message=_pull_message(ref, str(line["error"])))
                if progress is not None and line.get("id"):
                    progress(PullProgress(str(line["id"]), str(line.get("status", "")),
                                          str(line.get("progress", ""))))
    except docker.errors.APIError as exc:
        return ImageResult(ok=False, reason="ErrImagePull",
                           message=_pull_message(ref, exc.explanation or str(exc)))
    info = image_present(ref)
    if info is None:
        return ImageResult(ok=False, reason="ErrImagePull",
                           message=_pull_message(ref, "image not found after pull"))
    return ImageResult(ok=True, pulled=True, seconds=time.monotonic() - started,
                       size=int(info.get("Size", 0)))


def _pull_message(ref: str, detail: str) -> str:
    detail = " ".join(detail.split())
    return f'Failed to pull image "{ref}": {detail}'



_copying: dict[tuple[str, str], threading.Lock] = {}
_copying_guard = threading.Lock()


def copy_from_host(ref: str, replace: bool = False) -> bool:
    """Copy the image from the host's engine into this block's node engine, as `kind load
    docker-image` does (save there, load here, streamed: no registry, no file); whether
    the host had it. Pods of one node asking for one image at once copy it once; one the
    node has already is copied again only to `replace` it."""
    engine = engines.current()
    if engine is None:
        return False
    with _copying_guard:
        lock = _copying.setdefault((engine.socket, ref), threading.Lock())
    with lock:
        if not replace and image_present(ref) is not None:
            return True
        with engines.using(None):
            if image_present(ref) is None:
                return False
            source = docker_api()
        with translate_errors():
            saved = source.get_image(ref, chunk_size=1 << 20)
            for line in docker_api().load_image(saved, quiet=True):
                if isinstance(line, dict) and line.get("error"):
                    raise api_error()(f"loading {ref} into node {engine.node}: "
                                      f"{line['error']}")
    return True
