"""Where podctl keeps its state ($PODCTL_HOME)."""

from __future__ import annotations

import os
from pathlib import Path


def podctl_home(create: bool = True) -> Path:
    """The state directory, created on first use (unless ``create`` is false)."""
    raw = os.environ.get("PODCTL_HOME") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "podctl"
    )
    path = Path(raw)
    if create:
        # Only its owner may enter it: the store holds Secrets, and their volume files live here.
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def home_id(home: Path | None = None) -> str:
    """A short id of the home, stable for its resolved path: it names and labels what the
    home owns on a Docker engine that several homes share."""
    import hashlib  # loads OpenSSL: off the path of commands that never need the id

    path = (home or podctl_home(create=False)).resolve()
    return hashlib.sha256(str(path).encode()).hexdigest()[:10]
