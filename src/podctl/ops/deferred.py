"""Writes that stand while the Docker engine is down, as an API server accepts objects while
a node's kubelet is unreachable: the object is stored, and the Docker half of the write
(starting or stopping containers) is left to a controller once the engine answers again."""

from __future__ import annotations

from collections.abc import Callable

from podctl.errors import DockerUnavailable
from podctl.home import podctl_home
from podctl.leader import controller_running

PENDING = "its pods stay Pending"
NOT_STOPPED = "its surplus pods are not stopped"


class DockerWork:
    """The Docker halves of one command's writes; the engine is asked once per command."""

    def __init__(self) -> None:
        self.unreachable: str | None = None  # why the engine did not answer, once it did not
        self._asked = False
        self._left: set[str] = set()  # what waits meanwhile: PENDING, NOT_STOPPED

    def note_unreachable(self, exc: DockerUnavailable, waits: str = PENDING) -> None:
        """The engine did not answer a write's Docker half: it waits for a controller."""
        self.unreachable = exc.detail
        self._left.add(waits)

    def run(self, work: Callable[[], object], waits: str = PENDING) -> None:
        """Do `work` now when the engine answers; else leave it to a controller.

        Once the engine has not answered, later work is not tried: a command waits for an
        engine that is down once, not once per object.
        """
        if self.unreachable is None and not self._asked:
            self._asked = True
            from podctl.runtime.client import ping

            try:
                ping()
            except DockerUnavailable as exc:
                self.unreachable = exc.detail
        if self.unreachable is None:
            try:
                work()
            except DockerUnavailable as exc:
                self.note_unreachable(exc, waits)
            return
        self._left.add(waits)

    def warning(self) -> str | None:
        """The one warning line for everything left undone, or None."""
        if self.unreachable is None or not self._left:
            return None
        waiting = " and ".join(sorted(self._left))
        then = (", when the running controller catches up" if controller_running(podctl_home())
                else " and a controller runs (`podctl run-controller --detach`)")
        return (f"the Docker engine is unreachable ({self.unreachable}): the change is stored "
                f"and {waiting} until the engine is back{then}")
