"""Watch: store changes as ADDED/MODIFIED/DELETED events. One hub per server scans the store
when a write is announced (our own writes, the controller's and every podctl command's, see
podctl.notify) and fans the changes out to each watcher. A pod's status is stored (the
kubelet writes it), so each of its changes is a write with its own resourceVersion."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.apiserver import objects, params
from podctl.apiserver.routes import blocking
from podctl.apiserver.status import ApiError, invalid
from podctl.apiserver.tables import build_table, wants_table
from podctl.notify import WATCHERS_DIR, ChangeListener
from podctl.store import Store

if TYPE_CHECKING:
    from aiohttp import web

    from podctl.apiserver.routes import Call, Context

log = logging.getLogger("podctl.apiserver")



def stored_kinds() -> tuple[str, ...]:
    """Kinds kept in the store's objects table (events live in their own table), the
    custom kinds served now among them."""
    return tuple(kind for kind in list(meta.RESOURCES) if kind != "Event")

# Events are written without a notification (a repeat only bumps a count): while someone
# watches them they are compared this often.
EVENT_SECONDS = 1.0
HISTORY = 2000
BOOKMARK_SECONDS = 30.0
# Changes waiting for one watcher. One that falls this far behind (a client not reading)
# is closed, as the API server's watch cache closes an unresponsive watcher: its client
# watches again from the last version it saw. Buffering without bound would let one slow
# client hold every change in memory.
WATCH_BUFFER = 500

Key = tuple[str, str, str]


@dataclass
class Change:
    rv: int
    kind: str
    old: Obj | None  # None: it was added
    new: Obj | None  # None: it was deleted


@dataclass
class Watcher:
    kind: str
    namespace: str | None
    matches: Callable[[Obj], bool]
    # None after the changes: the watcher fell behind and its watch ends
    queue: asyncio.Queue[Change | None] = field(
        default_factory=lambda: asyncio.Queue(WATCH_BUFFER))

    def offer(self, change: Change) -> bool:
        """Queue a change; False when the buffer is full (the watch is then ended)."""
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)
            return False
        return True


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.watchers: list[Watcher] = []
        self.history: deque[Change] = deque(maxlen=HISTORY)
        self.oldest = 0  # changes after this revision are all in history
        self.revision = 0
        self._wake = asyncio.Event()
        self._objects: dict[Key, Obj] = {}
        self._versions: dict[Key, int] = {}
        self._events: dict[tuple[str, str], Obj] = {}
        self._scanning = threading.Lock()  # scans and primes run in worker threads
        self._listener: ChangeListener | None = None
        self.ready = asyncio.Event()

    def wake_threadsafe(self) -> None:
        self.loop.call_soon_threadsafe(self._wake.set)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()

    async def run(self, store: Store, home: Path) -> None:
        directory = home / WATCHERS_DIR
        directory.mkdir(mode=0o700, exist_ok=True)
        _remove_dead_sockets(directory)
        self._listener = ChangeListener(home, directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self._listener.sock.setblocking(False)
        self.loop.add_reader(self._listener.sock.fileno(), self._announced)
        await asyncio.to_thread(self._scan, store, True)
        self.oldest = self.revision
        self.ready.set()
        while True:
            events = any(w.kind == "Event" for w in self.watchers)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), EVENT_SECONDS if events else 5.0)
            self._wake.clear()
            try:
                changes = await asyncio.to_thread(self._scan, store, False)
            except Exception:  # a busy engine or store: the next wake or tick tries again
                log.exception("watch: scanning the store failed; retrying")
                continue
            for change in changes:
                self.history.append(change)
                if len(self.history) == self.history.maxlen:
                    self.oldest = self.history[0].rv - 1
                for watcher in list(self.watchers):
                    if watcher.kind == change.kind and not watcher.offer(change):
                        log.info("closing a watch of %s: it fell %d changes behind",
                                 watcher.kind, WATCH_BUFFER)
                        self.unsubscribe(watcher)

    def _announced(self) -> None:
        if self._listener is not None:
            self._listener.drain()
        self._wake.set()

    def _scan(self, store: Store, first: bool) -> list[Change]:
        """The changes since the last scan (none reported on the first: it is the start)."""
        with self._scanning:
            return self._scan_locked(store, first)

    def prime_events(self, store: Store) -> None:
        """Before an events watcher lists: the events as they are, the base of its changes."""
        with self._scanning:
            if not any(w.kind == "Event" for w in self.watchers[:-1]):
                self._events = {(meta.namespace_of(e), meta.name_of(e)): e
                                for e in store.list_events()}

    def _scan_locked(self, store: Store, first: bool) -> list[Change]:
        revision = store.revision()
        store.refresh_kinds()
        versions = store.versions(stored_kinds())
        changes: list[Change] = []
        for key, rv in versions.items():
            if self._versions.get(key) == rv:
                continue
            obj = store.get(*key)
            if obj is None:
                continue  # deleted since versions(): the next scan reports it
            # A write may land between versions() and get(): the object read is the one
            # reported, at its own version, so the next scan does not report it again.
            rv = int(obj["metadata"]["resourceVersion"])
            if self._versions.get(key) == rv:
                continue
            old = self._objects.get(key)
            self._objects[key] = obj
            self._versions[key] = rv
            changes.append(Change(rv, key[0], old, obj))
        gone = set(self._versions) - set(versions)
        if gone:
            # A delete may have landed after `revision` was read: stamped with that older
            # revision, it could look as old as a client's list that still showed the
            # object, and be skipped (kubectl delete would wait for it forever).
            revision = max(revision, store.revision())
        for key in gone:
            old = self._objects.pop(key, None)
            del self._versions[key]
            if old is not None:  # a DELETED event carries the deletion's version
                old = {**old, "metadata": {**old["metadata"],
                                           "resourceVersion": str(revision)}}
            changes.append(Change(revision, key[0], old, None))
        if any(w.kind == "Event" for w in self.watchers) or first:
            changes += self._event_changes(store, revision)
        self.revision = max(revision, self.revision)
        changes.sort(key=lambda c: c.rv)
        return [] if first else changes

    def _event_changes(self, store: Store, revision: int) -> list[Change]:
        """Events live in their own table, written without a notification (a repeat only
        bumps a count): compared on the tick while someone watches them."""
        current = {(meta.namespace_of(e), meta.name_of(e)): e for e in store.list_events()}
        out = [Change(revision, "Event", self._events.get(key), event)
               for key, event in current.items() if self._events.get(key) != event]
        out += [Change(revision, "Event", old, None) for key, old in self._events.items()
                if key not in current]
        self._events = current
        return out

    def subscribe(self, watcher: Watcher) -> None:
        self.watchers.append(watcher)

    def unsubscribe(self, watcher: Watcher) -> None:
        if watcher in self.watchers:
            self.watchers.remove(watcher)


def _remove_dead_sockets(directory: Path) -> None:
    """Sockets of API servers that died without closing them: nobody reads them."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        probe.setblocking(False)
        for path in directory.iterdir():
            try:
                probe.sendto(b"", str(path))
            except ConnectionRefusedError:
                with contextlib.suppress(OSError):
                    path.unlink()
            except OSError:
                continue


def event_for(watcher: Watcher, change: Change) -> tuple[str, Obj] | None:
    """What a change means to one watcher: selection changes turn into ADDED/DELETED."""
    def visible(obj: Obj | None) -> bool:
        if obj is None:
            return False
        if watcher.namespace is not None and meta.namespace_of(obj) != watcher.namespace:
            return False
        return watcher.matches(obj)

    was, now = visible(change.old), visible(change.new)
    if now and change.new is not None:
        return ("MODIFIED" if was else "ADDED", change.new)
    if was and change.old is not None:
        return ("DELETED", change.old)
    return None


async def serve_watch(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    from aiohttp import web

    hub: Hub = ctx.hub
    kind = call.target.kind
    opts = params.list_options(request.query)
    labels, field_reqs = objects.selection(kind, opts)
    since = _since(call, opts.resource_version)
    query = params.ListOptions(label_selector=opts.label_selector,
                               field_selector=opts.field_selector)

    def matches(obj: Obj) -> bool:
        return objects.selected(obj, labels, field_reqs)

    await hub.ready.wait()
    watcher = Watcher(kind, call.namespace, matches)
    table = wants_table(request.headers.get("Accept", ""))
    include = request.query.get("includeObject", "Metadata")
    bookmarks = opts.allow_bookmarks
    timeout = opts.timeout_seconds or None
    hub.subscribe(watcher)
    if kind == "Event":
        await blocking(hub.prime_events, ctx.store)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    first_table = True

    async def send(kind_: str, obj: Obj) -> None:
        nonlocal first_table
        body = objects.typed(call.target, obj)
        if table:
            body = build_table(kind, [obj], datetime.now(UTC), include)
            if not first_table:
                body["columnDefinitions"] = []
            first_table = False
        await response.write(json.dumps({"type": kind_, "object": body}).encode() + b"\n")

    async def bookmark(revision: int, initial_end: bool = False) -> None:
        md: Obj = {"resourceVersion": str(revision)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        mark = {"kind": objects.kind_name(kind), "apiVersion": call.target.group_version,
                "metadata": md}
        await response.write(json.dumps({"type": "BOOKMARK", "object": mark}).encode()
                             + b"\n")

    replayed: set[int] = set()  # history changes sent before the queue's
    try:
        initial = bool(opts.send_initial_events)
        if since == 0 or initial:
            # The current state first, as ADDED events (a watch-list ends them with a
            # bookmark saying so).
            page = await blocking(objects.list_objects, ctx.store, kind, call.namespace,
                                  query)
            for obj in page.items:
                await send("ADDED", obj)
            since = int(page.resource_version)
            if initial:
                await bookmark(since, initial_end=True)
        elif since < hub.oldest:
            expired = ApiError("Expired", f"too old resource version: {since} ({hub.oldest})")
            status = {**expired.status(), "code": 410}
            await response.write(json.dumps({"type": "ERROR", "object": status}).encode()
                                 + b"\n")
            await response.write_eof()
            return response
        else:
            for change in list(hub.history):
                if change.kind == kind and change.rv > since:
                    replayed.add(id(change))
                    event = event_for(watcher, change)
                    if event is not None:
                        await send(*event)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        while True:
            wait = BOOKMARK_SECONDS if bookmarks else None
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    break
                wait = min(wait, left) if wait is not None else left
            try:
                queued = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if bookmarks:
                    await bookmark(max(hub.revision, since))
                continue
            if queued is None:
                break  # it fell behind: end the watch cleanly, the client watches again
            change = queued
            if id(change) in replayed or (change.rv <= since and kind != "Event"):
                continue  # the list the client started from (or the replay) showed it
            event = event_for(watcher, change)
            if event is not None:
                await send(*event)
    except ConnectionResetError:
        return response  # the client went away
    finally:
        hub.unsubscribe(watcher)
    with contextlib.suppress(ConnectionResetError):  # the client left as the watch ended
        await response.write_eof()  # the end of the chunked stream: the watch ended cleanly
    return response


def _since(call: Call, text: str) -> int:
    """The revision a watch starts after (0: from the current state); a resourceVersion
    that does not parse is Invalid on the resource, as the storage layer answers."""
    if text in ("", "0"):
        return 0
    try:
        return params.parse_resource_version(text)
    except ValueError as exc:
        field, _, detail = str(exc).partition(": ")
        raise invalid(call.target.resource.name, "", [(field, detail)],
                      call.target.group) from exc
