"""Docker's word that a pod's sandbox died, so that a forward stops connecting to its IP
before Docker hands that IP to another container (the cache is otherwise seconds old)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from podctl.runtime import naming
from podctl.runtime.client import docker_api

_FILTERS = {"type": "container", "event": ["die"],
            "label": [naming.home_selector(), f"{naming.DOCKER_TYPE}={naming.TYPE_SANDBOX}"]}
_RECONNECT_SECONDS = 1.0


class SandboxDeaths:
    """A thread following Docker's event stream; calls back with the pod uid of every
    podctl sandbox that dies."""

    def __init__(self, on_death: Callable[[str], None]) -> None:
        self._on_death = on_death
        self._stream: Any = None
        self._closed = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True, name="podctl-sandbox-events").start()

    def close(self) -> None:
        """Stop following; closing the stream wakes the thread blocked reading it."""
        self._closed.set()
        if self._stream is not None:
            self._stream.close()

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                self._stream = docker_api().events(decode=True, filters=_FILTERS)
                if self._closed.is_set():
                    self._stream.close()
                for event in self._stream:
                    attributes = (event.get("Actor") or {}).get("Attributes") or {}
                    if attributes.get(naming.POD_UID):
                        self._on_death(attributes[naming.POD_UID])
            # An engine restart or close() breaks the stream in many ways (requests, urllib3,
            # docker errors); the forward's periodic look covers any gap.
            except Exception:
                self._closed.wait(_RECONNECT_SECONDS)
