"""kubelet.plan: what sync_pod must do, decided without Docker or clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podctl.api import meta
from podctl.kubelet.backoff import backoff_delay
from podctl.kubelet.plan import BackOff, compute_pod_actions, should_restart

from .records import pod, record, sandbox

NOW = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)


def test_new_pod_creates_sandbox_and_starts_every_container() -> None:
    actions = compute_pod_actions(pod("a", "b"), [], {}, NOW)
    assert actions.create_sandbox and actions.sandbox_attempt == 0
    assert not actions.sandbox_changed
    assert actions.start == {"a": 0, "b": 0}


def test_running_pod_is_a_noop() -> None:
    assert compute_pod_actions(pod("a"), [sandbox(), record("a")], {}, NOW).is_noop()


def test_first_restart_of_a_dead_container_is_immediate() -> None:
    dead = record("a", 0, "exited", 1, finished=meta.format_time(NOW))
    actions = compute_pod_actions(pod("a"), [sandbox(), dead], {}, NOW)
    assert actions.restart_wanted == {"a": dead}
    assert actions.start == {"a": 1} and actions.quick_restarts == {"a": 1}
    assert not actions.backoff and actions.retry_in is None


def _crashed(seconds_ago: float, ran_for: float = 1.0) -> Any:
    finished = NOW - timedelta(seconds=seconds_ago)
    return record("a", 3, "exited", 1, started=meta.format_time(
        finished - timedelta(seconds=ran_for)), finished=meta.format_time(finished))


def _state(quick: int) -> dict[str, Any]:
    return {"containers": {"a": {"quickRestarts": quick}}}


def test_a_crash_loop_waits_out_its_back_off() -> None:
    actions = compute_pod_actions(pod("a"), [sandbox(), _crashed(4)], _state(2), NOW)
    assert not actions.start and actions.backoff == {"a": BackOff(20.0, 16.0)}
    assert actions.retry_in == 16.0 and actions.is_noop()


def test_a_back_off_that_has_passed_restarts_and_counts_on() -> None:
    actions = compute_pod_actions(pod("a"), [sandbox(), _crashed(21)], _state(2), NOW)
    assert actions.start == {"a": 4} and actions.quick_restarts == {"a": 3}
    assert not actions.backoff


def test_back_off_caps_at_five_minutes() -> None:
    actions = compute_pod_actions(pod("a"), [sandbox(), _crashed(1)], _state(12), NOW)
    assert actions.backoff == {"a": BackOff(300.0, 299.0)}


def test_a_container_that_ran_ten_minutes_resets_its_back_off() -> None:
    long_run = _crashed(1, ran_for=600)
    actions = compute_pod_actions(pod("a"), [sandbox(), long_run], _state(6), NOW)
    assert actions.start == {"a": 4} and actions.quick_restarts == {"a": 1}


def test_succeeded_container_with_on_failure_finishes_the_pod() -> None:
    actions = compute_pod_actions(pod("a", policy="OnFailure"),
                                  [sandbox(), record("a", 0, "exited", 0)], {}, NOW)
    assert not actions.restart_wanted and actions.pod_finished


def test_dead_sandbox_is_recreated_and_running_containers_killed() -> None:
    app = record("a", 0, "running")
    actions = compute_pod_actions(pod("a"), [sandbox(0, running=False), app], {}, NOW)
    assert actions.create_sandbox and actions.sandbox_attempt == 1 and actions.sandbox_changed
    assert actions.kill == [app]
    assert actions.start == {"a": 1}


def test_dead_sandbox_of_finished_never_pod_is_left_alone() -> None:
    actions = compute_pod_actions(pod("a", policy="Never"),
                                  [sandbox(0, running=False), record("a", 0, "exited", 0)], {}, NOW)
    assert not actions.create_sandbox and actions.pod_finished


def test_old_dead_containers_are_collected_but_previous_kept() -> None:
    records = [sandbox(1), sandbox(0, running=False), record("a", 0, "exited", 1),
               record("a", 1, "exited", 1), record("a", 2, "running")]
    removed = {(r.container, r.attempt) for r in
               compute_pod_actions(pod("a"), records, {}, NOW).remove}
    assert removed == {("POD", 0), ("a", 0)}


@pytest.mark.parametrize("policy,code,restart", [
    ("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False),
    ("OnFailure", 2, True), ("Never", 1, False),
])
def test_should_restart(policy: str, code: int, restart: bool) -> None:
    assert should_restart(policy, code) is restart


@pytest.mark.parametrize("restarts,delay", [(0, 0), (1, 10), (2, 20), (3, 40), (5, 160),
                                            (6, 300), (20, 300)])
def test_backoff_doubles_from_ten_seconds_to_five_minutes(restarts: int, delay: float) -> None:
    assert backoff_delay(restarts) == delay


def init_pod(policy: str = "Always") -> dict[str, object]:
    p = pod("app", policy=policy)
    p["spec"]["initContainers"] = [{"name": "i1", "image": "img"},  # type: ignore[index]
                                   {"name": "i2", "image": "img"}]
    return p


def in_sandbox(r: Any, sandbox_id: str) -> Any:
    r.labels["io.kubernetes.sandbox.id"] = sandbox_id
    return r


def test_new_pod_with_init_containers_starts_only_the_first() -> None:
    actions = compute_pod_actions(init_pod(), [], {}, NOW)
    assert actions.create_sandbox and actions.start == {"i1": 0}


def test_next_init_container_starts_after_the_previous_succeeded() -> None:
    sb = sandbox()
    records = [sb, in_sandbox(record("i1", 0, "exited", 0), sb.id)]
    assert compute_pod_actions(init_pod(), records, {}, NOW).start == {"i2": 0}


def test_app_containers_start_once_all_init_containers_succeeded() -> None:
    sb = sandbox()
    records = [sb] + [in_sandbox(record(n, 0, "exited", 0), sb.id) for n in ("i1", "i2")]
    assert compute_pod_actions(init_pod(), records, {}, NOW).start == {"app": 0}


def test_running_init_container_holds_everything() -> None:
    sb = sandbox()
    records = [sb, in_sandbox(record("i1", 0, "running"), sb.id)]
    assert compute_pod_actions(init_pod(), records, {}, NOW).is_noop()


def test_failed_init_container_is_restarted_or_fails_the_pod() -> None:
    sb = sandbox()
    failed = in_sandbox(record("i1", 0, "exited", 1), sb.id)
    assert compute_pod_actions(init_pod(), [sb, failed], {}, NOW).restart_wanted == {"i1": failed}
    never = compute_pod_actions(init_pod("Never"), [sb, failed], {}, NOW)
    assert never.pod_finished and not never.restart_wanted


def test_init_containers_of_an_old_sandbox_run_again() -> None:
    sb = sandbox(1)
    records = [sb, in_sandbox(record("i1", 0, "exited", 0), "old-sandbox")]
    assert compute_pod_actions(init_pod(), records, {}, NOW).start == {"i1": 1}


def test_an_app_older_than_its_restarted_sandbox_gets_a_new_sandbox() -> None:
    """`docker restart` of a sandbox leaves its app in the previous network namespace."""
    restarted = record("POD", 0, "running", ip="10.0.0.5", started="2026-01-01T00:05:00Z")
    stale = record("a", 0, "running", started="2026-01-01T00:04:59Z")
    actions = compute_pod_actions(pod("a"), [restarted, stale], {}, NOW)
    assert actions.create_sandbox and actions.sandbox_changed and actions.sandbox_attempt == 1
    assert {r.container for r in actions.kill} == {"POD", "a"}
    joined = record("a", 0, "running", started="2026-01-01T00:05:01Z")
    assert compute_pod_actions(pod("a"), [restarted, joined], {}, NOW).is_noop()


def test_a_sandbox_restarted_within_the_same_second_is_still_seen() -> None:
    restarted = record("POD", 0, "running", ip="10.0.0.5", started="2026-01-01T00:05:00.800Z")
    stale = record("a", 0, "running", started="2026-01-01T00:05:00.300Z")
    assert compute_pod_actions(pod("a"), [restarted, stale], {}, NOW).create_sandbox


def test_a_container_that_could_not_start_backs_off_from_its_creation() -> None:
    """ContainerCannotRun leaves no finish time; its back-off must still run out."""
    failed = record("a", 1, "created", 127, started=None, error="namespace path: lstat")
    created = datetime.fromtimestamp(failed.created, UTC)
    waiting = compute_pod_actions(pod("a"), [sandbox(), failed], _state(1),
                                  created + timedelta(seconds=4))
    assert waiting.backoff == {"a": BackOff(10.0, 6.0)} and not waiting.start
    later = compute_pod_actions(pod("a"), [sandbox(), failed], _state(1),
                                created + timedelta(seconds=11))
    assert later.start == {"a": 2}


def test_old_attempts_brought_back_by_docker_restart_are_stopped() -> None:
    old_sandbox = record("POD", 0, "running")
    current = sandbox(1)
    old = record("a", 0, "running")
    latest = record("a", 1, "running")
    actions = compute_pod_actions(pod("a"), [old_sandbox, current, old, latest], {}, NOW)
    assert not actions.create_sandbox and not actions.start
    assert actions.kill == [old_sandbox, old]


def sidecar_pod(policy: str = "Always", startup: bool = False) -> dict[str, object]:
    """init `i1`, sidecar `side`, then app `app`."""
    p = pod("app", policy=policy)
    side: dict[str, object] = {"name": "side", "image": "img", "restartPolicy": "Always"}
    if startup:
        side["startupProbe"] = {"exec": {"command": ["true"]}}
    p["spec"]["initContainers"] = [{"name": "i1", "image": "img"}, side]  # type: ignore[index]
    return p


def test_a_sidecar_starts_after_the_init_before_it_and_the_app_after_it() -> None:
    sb = sandbox()
    done = in_sandbox(record("i1", 0, "exited", 0), sb.id)
    assert compute_pod_actions(sidecar_pod(), [sb, done], {}, NOW).start == {"side": 0}
    side = in_sandbox(record("side", 0, "running"), sb.id)
    assert compute_pod_actions(sidecar_pod(), [sb, done, side], {}, NOW).start == {"app": 0}


def test_a_sidecar_with_a_startup_probe_holds_the_app_until_started() -> None:
    sb = sandbox()
    records = [sb, in_sandbox(record("i1", 0, "exited", 0), sb.id),
               in_sandbox(record("side", 0, "running"), sb.id)]
    assert compute_pod_actions(sidecar_pod(startup=True), records, {}, NOW).is_noop()
    started = frozenset({records[2].id})
    assert compute_pod_actions(sidecar_pod(startup=True), records, {}, NOW,
                               started).start == {"app": 0}


def test_a_sidecar_that_exits_is_restarted_beside_the_running_app() -> None:
    sb = sandbox()
    side = in_sandbox(record("side", 0, "exited", 0, finished=meta.format_time(NOW)), sb.id)
    records = [sb, in_sandbox(record("i1", 0, "exited", 0), sb.id), side,
               in_sandbox(record("app", 0, "running"), sb.id)]
    actions = compute_pod_actions(sidecar_pod("Never"), records, {}, NOW)
    assert actions.restart_wanted == {"side": side} and actions.start == {"side": 1}
    assert not actions.pod_finished


def test_sidecars_are_stopped_once_the_app_containers_are_done() -> None:
    sb = sandbox()
    side = in_sandbox(record("side", 0, "running"), sb.id)
    records = [sb, in_sandbox(record("i1", 0, "exited", 0), sb.id), side,
               in_sandbox(record("app", 0, "exited", 0), sb.id)]
    actions = compute_pod_actions(sidecar_pod("Never"), records, {}, NOW)
    assert actions.pod_finished and actions.kill == [side] and not actions.start
    gone = in_sandbox(record("side", 0, "exited", 143, finished=meta.format_time(NOW)), sb.id)
    records[2] = gone
    after = compute_pod_actions(sidecar_pod("Never"), records, {}, NOW)
    assert after.pod_finished and after.is_noop()


def test_a_failed_init_container_of_a_never_pod_stops_its_sidecars() -> None:
    p = pod("app", policy="Never")
    p["spec"]["initContainers"] = [  # type: ignore[index]
        {"name": "side", "image": "img", "restartPolicy": "Always"}, {"name": "i2", "image": "img"}]
    sb = sandbox()
    side = in_sandbox(record("side", 0, "running"), sb.id)
    failed = in_sandbox(record("i2", 0, "exited", 1), sb.id)
    actions = compute_pod_actions(p, [sb, side, failed], {}, NOW)
    assert actions.pod_finished and actions.kill == [side] and not actions.start


def test_a_sidecar_with_a_new_image_is_replaced() -> None:
    sb = sandbox()
    side = in_sandbox(record("side", 0, "running"), sb.id)
    side.labels["annotation.io.kubernetes.container.hash"] = "old"
    records = [sb, in_sandbox(record("i1", 0, "exited", 0), sb.id), side,
               in_sandbox(record("app", 0, "running"), sb.id)]
    actions = compute_pod_actions(sidecar_pod(), records, {}, NOW)
    assert actions.changed == ["side"] and actions.kill == [side]
    assert actions.start == {"side": 1}
