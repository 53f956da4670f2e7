"""The in-process drain of the controllers' handlers (a command's follow-up when no
controller runs): waves until nothing is left now, bounded, later work left alone."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from podctl.controllers import driver
from podctl.controllers.driver import Context, Handler
from podctl.controllers.ownersync import Key
from podctl.store import open_store
from podctl.store.db import Store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("PODCTL_HOME", str(tmp_path))
    return open_store(tmp_path)


def recording(calls: list[Key], follow: dict[Key, list[tuple[Key, float]]]) -> Handler:
    lock = threading.Lock()

    def handler(ctx: Context, namespace: str, name: str) -> None:
        key = ("K", namespace, name)
        with lock:
            calls.append(key)
        for then, delay in follow.get(key, []):
            ctx.queue.add(then, delay)

    return handler


def test_follow_ups_run_after_what_asked_for_them_and_later_work_is_left(
        store: Store) -> None:
    calls: list[Key] = []
    follow = {("K", "", "a"): [(("K", "", "b"), 0.0), (("K", "", "c"), 0.0),
                               (("K", "", "later"), 5.0)],
              ("K", "", "b"): [(("K", "", "d"), 0.0)]}
    driver.drain(store, [("K", "", "a")], {"K": recording(calls, follow)})
    assert calls[0] == ("K", "", "a")
    assert sorted(calls[1:3]) == [("K", "", "b"), ("K", "", "c")]
    assert calls[3:] == [("K", "", "d")]


def test_a_key_asking_for_itself_forever_is_handled_a_bounded_number_of_times(
        store: Store) -> None:
    calls: list[Key] = []
    loop = ("K", "", "loop")
    driver.drain(store, [loop, ("Unknown", "", "x")],
                 {"K": recording(calls, {loop: [(loop, 0.0)]})})
    assert calls == [loop] * driver.MAX_PASSES


def test_each_wave_sees_the_writes_of_the_one_before(store: Store) -> None:
    """The owners' expectations are met before each wave: the store is read directly."""
    seen: list[bool] = []

    def write_then_check(ctx: Context, _namespace: str, name: str) -> None:
        owner = ("ReplicaSet", "default", "web")
        seen.append(ctx.control.expectations.satisfied(owner))
        if name == "first":
            made = ctx.store.create({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "x", "namespace": "default"}})
            ctx.control.expectations.expect(owner, int(made["metadata"]["resourceVersion"]))
            ctx.queue.add(("K", "", "second"))

    driver.drain(store, [("K", "", "first")], {"K": write_then_check})
    assert seen == [True, True]
