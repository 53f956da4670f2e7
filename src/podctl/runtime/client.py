"""One low-level Docker API client per process, with connection errors made readable."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from urllib.parse import urlencode

from podctl.errors import DockerUnavailable, PodctlError

TIMEOUT = 120


@cache
def docker_api() -> Any:
    """The low-level APIClient from Docker's own environment (DOCKER_HOST, ...).

    The low-level client avoids the high-level list's one inspect per container.
    """
    import docker
    from docker.utils import kwargs_from_env

    try:
        return docker.APIClient(
            **kwargs_from_env(), version="auto", timeout=TIMEOUT, max_pool_size=32
        )
    except docker.errors.DockerException as exc:
        raise DockerUnavailable(_short(exc)) from exc


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "FileNotFoundError" in text or "No such file" in text:
        return "no daemon socket"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused"
    return text.splitlines()[0][:200] if text else type(exc).__name__


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn connection failures into DockerUnavailable, leave API errors alone."""
    import requests

    try:
        yield
    except requests.exceptions.ConnectionError as exc:
        raise DockerUnavailable(_short(exc)) from exc


def unix_socket() -> str | None:
    """The engine's unix socket per DOCKER_HOST (Docker's default when unset), or None when
    DOCKER_HOST names another transport (tcp, TLS, ssh), which only the SDK speaks."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return host.removeprefix("unix://") if host.startswith("unix://") else None


def container_list(filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every container (running or not) matching Docker's list filters, as the engine's
    list call gives them.

    A CLI that lists and exits spends more on importing the SDK (requests, urllib3) and on
    its API version handshake than on the call itself, so on a unix socket this is one
    request with the standard library; other transports go through the SDK.
    """
    path = unix_socket()
    if path is None:
        with translate_errors():
            found: list[dict[str, Any]] = docker_api().containers(all=True, filters=filters)
        return found
    import socket

    query = urlencode({"all": "1", "filters": json.dumps(filters)})
    # HTTP/1.0: the engine sends the body unchunked and closes the connection after it.
    request = f"GET /containers/json?{query} HTTP/1.0\r\nHost: docker\r\n\r\n".encode()
    chunks = []
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(path)
            sock.sendall(request)
            while chunk := sock.recv(1 << 16):
                chunks.append(chunk)
    except FileNotFoundError as exc:
        raise DockerUnavailable("no daemon socket") from exc
    except ConnectionRefusedError as exc:
        raise DockerUnavailable("connection refused") from exc
    except OSError as exc:
        raise DockerUnavailable(_short(exc)) from exc
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1:2]
    if status != [b"200"]:
        try:
            message = json.loads(body).get("message") or body.decode()
        except ValueError:
            message = body.decode(errors="replace")
        raise PodctlError(f"Error response from daemon: {message.strip()}")
    listed: list[dict[str, Any]] = json.loads(body)
    return listed
