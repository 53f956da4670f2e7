"""One low-level Docker API client per process, with connection errors made readable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from podctl.errors import DockerUnavailable


@cache
def docker_api() -> Any:
    """The low-level APIClient from Docker's own environment (DOCKER_HOST, ...).

    The low-level client avoids the high-level list's one inspect per container.
    """
    import docker
    from docker.utils import kwargs_from_env

    try:
        return docker.APIClient(
            **kwargs_from_env(), version="auto", timeout=120, max_pool_size=32
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
