"""controller.supervise: a long-lived loop that dies is started again, never left dead."""

from __future__ import annotations

import logging
import threading

import pytest

from podctl.controller import supervise


def test_a_loop_that_raises_is_restarted_until_stop(caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()
    runs: list[int] = []

    def flaky(stop: threading.Event) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("store went away")
        stop.set()

    with caplog.at_level(logging.ERROR, logger="podctl.controller"):
        supervise("store", flaky, stop, backoff=(0.01,))
    assert len(runs) == 3
    assert caplog.text.count("the store loop failed; restarting it") == 2


def test_a_stopped_controller_does_not_restart_its_loops() -> None:
    stop = threading.Event()
    stop.set()
    runs: list[int] = []
    supervise("docker", lambda _: runs.append(1), stop, backoff=(0.01,))
    assert runs == []
