"""The watch hub's scan of the store, and what each change means to one watcher."""

from __future__ import annotations

import asyncio
from pathlib import Path

from podctl.api.labels import parse_selector
from podctl.apiserver.watch import Change, Hub, Watcher, event_for
from podctl.store import open_store


def config_map(name: str, labels: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "data": {"k": "v"}}


def test_scan_reports_additions_changes_and_deletions_with_store_versions(
        tmp_path: Path) -> None:
    store = open_store(tmp_path)
    loop = asyncio.new_event_loop()
    try:
        hub = Hub(loop)
        assert hub._scan(store, first=True) == []  # the starting point reports nothing
        made = store.create(config_map("a", {"app": "x"}))
        added = hub._scan(store, first=False)
        assert [(c.kind, c.old, c.new is not None) for c in added] == [("ConfigMap", None, True)]
        assert added[0].rv == int(made["metadata"]["resourceVersion"])
        made["data"] = {"k": "changed"}
        store.update(made)
        changed = hub._scan(store, first=False)
        assert changed[0].old is not None and changed[0].old["data"] == {"k": "v"}
        assert changed[0].new is not None and changed[0].new["data"] == {"k": "changed"}
        store.delete("ConfigMap", "default", "a")
        deleted = hub._scan(store, first=False)
        assert deleted[0].new is None and deleted[0].rv == store.revision()
        assert hub._scan(store, first=False) == []
    finally:
        loop.close()
        store.close()


def test_a_delete_during_a_scan_is_stamped_after_it(tmp_path: Path) -> None:
    """A delete between the scan's revision read and its versions read is newer than a
    list that still showed the object, so a watch from that list gets it."""
    store = open_store(tmp_path)
    loop = asyncio.new_event_loop()
    try:
        hub = Hub(loop)
        store.create(config_map("a", {"app": "x"}))
        hub._scan(store, first=True)
        listed = store.revision()  # a client's list, the object in it
        versions = store.versions

        def delete_then_read(kinds: tuple[str, ...]) -> dict[tuple[str, str, str], int]:
            store.delete("ConfigMap", "default", "a")
            return versions(kinds)

        store.versions = delete_then_read  # type: ignore[method-assign]
        deleted = hub._scan(store, first=False)
        assert [c.new for c in deleted] == [None] and deleted[0].rv > listed
    finally:
        loop.close()
        store.close()


def test_a_write_between_the_versions_and_the_read_is_reported_once(tmp_path: Path) -> None:
    """The object read after versions() may be newer than they said: it is reported at its
    own version, and the next scan does not report that version again."""
    store = open_store(tmp_path)
    loop = asyncio.new_event_loop()
    try:
        hub = Hub(loop)
        hub._scan(store, first=True)
        store.create(config_map("a", {"app": "x"}))
        versions = store.versions

        def read_then_write(kinds: tuple[str, ...]) -> dict[tuple[str, str, str], int]:
            seen = versions(kinds)
            store.mutate("ConfigMap", "default", "a",
                         lambda cm: bool(cm["metadata"]["labels"].update(app="y") or True))
            return seen

        store.versions = read_then_write  # type: ignore[method-assign]
        first = hub._scan(store, first=False)
        store.versions = versions  # type: ignore[method-assign]
        again = hub._scan(store, first=False)
        reported = [c.new["metadata"]["resourceVersion"] for c in first + again if c.new]
        assert len(reported) == len(set(reported)) == 1
        assert [c.rv for c in first] == [int(reported[0])]
    finally:
        loop.close()
        store.close()


def test_a_selector_turns_label_changes_into_added_and_deleted() -> None:
    selector = parse_selector("app=x")
    watcher = Watcher("ConfigMap", "default",
                      lambda obj: selector.matches(obj["metadata"].get("labels")))
    inside, outside = config_map("a", {"app": "x"}), config_map("a", {"app": "y"})
    assert event_for(watcher, Change(5, "ConfigMap", None, inside)) == ("ADDED", inside)
    assert event_for(watcher, Change(6, "ConfigMap", inside, inside)) == ("MODIFIED", inside)
    assert event_for(watcher, Change(7, "ConfigMap", inside, outside)) == ("DELETED", inside)
    assert event_for(watcher, Change(8, "ConfigMap", outside, inside)) == ("ADDED", inside)
    assert event_for(watcher, Change(9, "ConfigMap", outside, outside)) is None
    other_namespace = {**inside, "metadata": {**inside["metadata"], "namespace": "kube-system"}}
    assert event_for(watcher, Change(10, "ConfigMap", None, other_namespace)) is None


def test_dead_servers_sockets_are_removed_live_ones_kept(tmp_path: Path) -> None:
    import socket

    from podctl.apiserver.watch import _remove_dead_sockets

    live = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    live.bind(str(tmp_path / "live"))
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(tmp_path / "dead"))
    dead.close()  # its file stays, as after a crash
    try:
        _remove_dead_sockets(tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["live"]
    finally:
        live.close()
