"""Which Docker engine the runtime's calls go to: the host's own (DOCKER_HOST, the first
node) or the dockerd inside a node container (`podctl node add`).

Kubelet code stays engine-agnostic: whoever acts for a pod runs its block under
`using(engine_of(node))`, and runtime/client.py reads `current()` for every call. A node's
dockerd listens on a unix socket in a directory bind-mounted out of its container to a
short host path (a unix socket's path is limited to 108 bytes; a home's path may be long),
so no TCP port is opened for it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

# On a Node object: which engine runs its pods. The host's node carries HOST; a node
# container's carries CONTAINER; a Node with neither has no kubelet here (registered
# through the API, as the scheduler's tests do), and nothing runs its pods.
ENGINE_ANNOTATION = "podctl.io/engine"
HOST = "host"
CONTAINER = "container"
SOCKET_NAME = "docker.sock"
# Where a node container's socket directory is mounted inside it.
NODE_SOCKET_DIR = "/podctl"

T = TypeVar("T")


@dataclass(frozen=True)
class Engine:
    """A node container's engine: the node's name, the host path of its dockerd's socket
    and the pod CIDR its pod network uses (the Node's spec.podCIDR, when set)."""

    node: str
    socket: str
    pod_cidr: str | None = None


_current: ContextVar[Engine | None] = ContextVar("podctl_engine", default=None)


def current() -> Engine | None:
    """The engine this block's runtime calls go to; None for the host's."""
    return _current.get()


@contextmanager
def using(engine: Engine | None) -> Iterator[None]:
    """Send this block's runtime calls (in this thread, and in what `carry` wraps) to
    `engine` (None: the host's)."""
    token = _current.set(engine)
    try:
        yield
    finally:
        _current.reset(token)


def carry(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn` to run on another thread (a pool's) against the engine of this one: a
    thread pool's workers do not inherit the submitter's context."""
    engine = current()

    def run(*args: Any, **kwargs: Any) -> T:
        with using(engine):
            return fn(*args, **kwargs)

    return run


def bound(engine: Engine | None, fn: Callable[..., T]) -> Callable[..., T]:
    """`fn` to run anywhere (another thread) against `engine`."""
    with using(engine):
        return carry(fn)


def home_sockets(homeid: str) -> Path:
    """Where the sockets of a home's nodes are: short and fixed, by the home's id."""
    return Path(tempfile.gettempdir()) / f"podctl-{os.getuid()}" / homeid


def socket_dir(homeid: str, node: str) -> Path:
    """The host directory a node's dockerd socket appears in, by a hash of the node's
    name (a Node's name may be 253 bytes)."""
    return home_sockets(homeid) / hashlib.sha256(node.encode()).hexdigest()[:12]


def node_engine(homeid: str, node: str, pod_cidr: str | None = None) -> Engine:
    return Engine(node, str(socket_dir(homeid, node) / SOCKET_NAME), pod_cidr)


def kind_of(node: dict[str, Any]) -> str | None:
    """HOST, CONTAINER, or None for a Node no engine of this home backs."""
    value = ((node.get("metadata") or {}).get("annotations") or {}).get(ENGINE_ANNOTATION)
    return value if value in (HOST, CONTAINER) else None


def engine_of(homeid: str, node: dict[str, Any]) -> Engine | None:
    """The engine a node's pods run on (None: the host's). Only for a node with a kubelet
    here (kind_of is not None)."""
    if kind_of(node) != CONTAINER:
        return None
    name = str(node["metadata"]["name"])
    cidr = (node.get("spec") or {}).get("podCIDR")
    return node_engine(homeid, name, str(cidr) if cidr else None)
