"""One low-level Docker API client per process, with connection errors made readable."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from urllib.parse import urlencode

from podctl.errors import DockerUnavailable
from podctl.runtime import engines

TIMEOUT = 120


def docker_api() -> Any:
    """The low-level APIClient of the engine this block's calls go to (runtime.engines):
    the host's from Docker's own environment (DOCKER_HOST, ...), or a node container's.

    The low-level client avoids the high-level list's one inspect per container.
    """
    engine = engines.current()
    return _api_client(None if engine is None else f"unix://{engine.socket}")


@cache
def _api_client(base_url: str | None) -> Any:
    import docker
    from docker.utils import kwargs_from_env

    try:
        # A node's engine answers the same API version as the host's (same binaries):
        # pinning it spares each node client the version handshake, which fails while
        # the node is down and would then stay failed in this cache.
        settings = kwargs_from_env() if base_url is None else {
            "base_url": base_url, "version": _api_client(None).api_version}
        return docker.APIClient(**{"version": "auto", **settings}, timeout=TIMEOUT,
                                max_pool_size=32)
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


# What docker.APIClient.create_container sends for each field its caller leaves unset:
# podctl's create bodies are these with their own fields over them.
_CREATE_DEFAULTS: dict[str, Any] = {
    "Hostname": None, "Domainname": None, "ExposedPorts": None, "User": None, "Tty": False,
    "OpenStdin": False, "StdinOnce": False, "AttachStdin": False, "AttachStdout": True,
    "AttachStderr": True, "Env": None, "Cmd": None, "Image": None, "Volumes": None,
    "NetworkDisabled": False, "Entrypoint": None, "WorkingDir": None, "HostConfig": None,
    "NetworkingConfig": None, "MacAddress": None, "Labels": None, "StopSignal": None,
    "Healthcheck": None, "StopTimeout": None, "Runtime": None,
}


def exec_exit_code(api: Any, exec_id: str, wait: float = 5.0) -> int | None:
    """An exec's exit code once Docker has recorded it: its output stream may end a moment
    before the exec stops Running, and ExitCode reads null until then. None if it never
    does within `wait` seconds (the caller must not take that for success)."""
    deadline = time.monotonic() + wait
    while True:
        state = api.exec_inspect(exec_id)
        code = state.get("ExitCode")
        if (not state.get("Running") and code is not None) or time.monotonic() > deadline:
            return None if code is None else int(code)
        time.sleep(0.02)


def create_body(**fields: Any) -> dict[str, Any]:
    """A container create request's body: the SDK's defaults, then `fields`."""
    return {**_CREATE_DEFAULTS, **fields}


def unix_socket() -> str | None:
    """The engine's unix socket: a node container's (runtime.engines), else per DOCKER_HOST
    (Docker's default when unset); None when DOCKER_HOST names another transport (tcp,
    TLS, ssh), which only the SDK speaks."""
    engine = engines.current()
    if engine is not None:
        return engine.socket
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return host.removeprefix("unix://") if host.startswith("unix://") else None


def ping() -> None:
    """Raise DockerUnavailable unless the engine answers."""
    path = unix_socket()
    if path is None:
        docker_api()  # connects: its API version handshake is the ping
        return
    status, _, payload = _unix_request(path, "GET", "/_ping", b"")
    if status != 200:
        raise DockerUnavailable(f"ping answered {status}: {payload[:80]!r}")


def container_list(filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every container (running or not) matching Docker's list filters, as the engine's
    list call gives them."""
    found: list[dict[str, Any]] = engine_call(
        "GET", "/containers/json", {"all": "1", "filters": json.dumps(filters)})
    return found


def engine_call(method: str, path: str, query: dict[str, str] | None = None,
                body: object = None, allow: tuple[int, ...] = (),
                timeout: float = TIMEOUT) -> Any:
    """One Engine API request; its JSON answer (None when empty, or when its status is
    one of `allow`). Another error answer raises the SDK's own exception for it
    (docker.errors.NotFound, APIError...).

    A command that makes a few calls and exits spends more on importing the SDK
    (requests, urllib3: ~90 ms) and on its API version handshake than on the calls, so on
    a unix socket this is one request with the standard library; other transports (tcp,
    TLS, ssh) go through the SDK's session.
    """
    target = path + (f"?{urlencode(query)}" if query else "")
    data = b"" if body is None else json.dumps(body).encode()
    socket_path = unix_socket()
    if socket_path is None:
        api = docker_api()
        with translate_errors():
            response = api.request(method, f"{api.base_url}/v{api.api_version}{target}",
                                   data=data or None, timeout=timeout,
                                   headers={"Content-Type": "application/json"} if data else {})
        status, reason, payload = response.status_code, response.reason, response.content
    else:
        status, reason, payload = _unix_request(socket_path, method, target, data, timeout)
    if status in allow:
        return None
    if status >= 400:
        _raise_api_error(status, reason, payload)
    return json.loads(payload) if payload.strip() else None


def container_path_stat(container_id: str, path: str) -> dict[str, Any] | None:
    """What the engine says of a path in a container (a HEAD of its archive: name, mode,
    linkTarget, without following a last symlink); None when nothing is there."""
    import base64

    target = f"/containers/{container_id}/archive?{urlencode({'path': path})}"
    socket_path = unix_socket()
    if socket_path is None:
        api = docker_api()
        with translate_errors():
            response = api.head(f"{api.base_url}/v{api.api_version}{target}", timeout=TIMEOUT)
        status, reason, stat = (response.status_code, response.reason,
                                response.headers.get("X-Docker-Container-Path-Stat", ""))
    else:
        status, reason, payload = _unix_request(socket_path, "HEAD", target, b"",
                                                keep_head=True)
        stat = next((line.split(b":", 1)[1].strip().decode() for line in payload.split(b"\r\n")
                     if line.lower().startswith(b"x-docker-container-path-stat:")), "")
    if status == 404:
        return None
    if status >= 400:
        _raise_api_error(status, reason, b"")
    found: dict[str, Any] = json.loads(base64.b64decode(stat)) if stat else {}
    return found


def _unix_request(socket_path: str, method: str, target: str, data: bytes,
                  timeout: float = TIMEOUT, keep_head: bool = False) -> tuple[int, str, bytes]:
    """(status, reason, body); with keep_head, the response's header lines instead of its
    body (a HEAD's answer is in them)."""
    import socket

    # HTTP/1.0: the engine sends the body unchunked and closes the connection after it.
    head = f"{method} {target} HTTP/1.0\r\nHost: docker\r\n"
    if data:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    chunks = []
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path)
            sock.sendall(head.encode() + b"\r\n" + data)
            while chunk := sock.recv(1 << 16):
                chunks.append(chunk)
    except FileNotFoundError as exc:
        raise DockerUnavailable("no daemon socket") from exc
    except ConnectionRefusedError as exc:
        raise DockerUnavailable("connection refused") from exc
    except OSError as exc:
        raise DockerUnavailable(_short(exc)) from exc
    response, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = response.split(b"\r\n", 1)[0].decode(errors="replace").split(" ", 2)
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise DockerUnavailable(f"unexpected answer: {status_line[0][:80]!r}")
    reason = status_line[2] if len(status_line) > 2 else ""
    return int(status_line[1]), reason, response if keep_head else payload


def api_error() -> type[Exception]:
    """The SDK's APIError, the base of what engine_call raises, for an except clause.

    Python evaluates an except clause only when an exception reaches it, so code that
    catches `api_error()` imports the SDK only when something failed.
    """
    import docker.errors

    return docker.errors.APIError


def _raise_api_error(status: int, reason: str, payload: bytes) -> None:
    """Raise what the SDK raises for this answer, made by the SDK's own function."""
    import docker.errors
    import requests

    response = requests.Response()
    response.status_code, response.reason = status, reason
    response._content = payload  # requests has no public way to give a response a body
    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as exc:
        docker.errors.create_api_error_from_http_exception(exc)
