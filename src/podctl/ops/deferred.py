"""Writes that stand while the Docker engine is down, as an API server accepts objects while
a node's kubelet is unreachable: the object is stored, and the Docker half of the write
(starting or stopping containers) is left to a controller once the engine answers again."""

from __future__ import annotations

from collections.abc import Callable

from podctl.errors import DockerUnavailable, NodeUnavailable
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
        self.nodes_down: dict[str, str] = {}  # node containers that did not answer: why
        self._node_left: set[str] = set()

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
            except NodeUnavailable as exc:
                # One node is down: its pods wait, the other nodes' work goes on.
                self.nodes_down[exc.node] = exc.detail
                self._node_left.add(waits)
            except DockerUnavailable as exc:
                self.note_unreachable(exc, waits)
            return
        self._left.add(waits)

    def warning(self) -> str | None:
        """The one warning line for everything left undone, or None."""
        then = (", when the running controller catches up" if controller_running(podctl_home())
                else " and a controller runs (`podctl run-controller --detach`)")
        lines = []
        if self.unreachable is not None and self._left:
            waiting = " and ".join(sorted(self._left))
            lines.append(f"the Docker engine is unreachable ({self.unreachable}): the change "
                         f"is stored and {waiting} until the engine is back{then}")
        if self.nodes_down and self._node_left:
            names = sorted(self.nodes_down)
            waiting = " and ".join(sorted(self._node_left))
            who, back = ((f"node {names[0]} does not answer", "it is") if len(names) == 1
                         else (f"nodes {', '.join(names)} do not answer", "they are"))
            lines.append(f"{who}: the change is stored and {waiting} until {back} "
                         f"back{then}")
        return "; ".join(lines) or None
