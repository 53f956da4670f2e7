"""SQLite object store under $PODCTL_HOME (WAL, one file, safe across processes)."""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NamedTuple

from podctl.api import crd, meta
from podctl.api.meta import Obj
from podctl.errors import AlreadyExists, Conflict, NotFound
from podctl.home import podctl_home

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL UNIQUE,
    rv INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_name TEXT NOT NULL,
    object_uid TEXT NOT NULL,
    field_path TEXT NOT NULL,
    type TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    source TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_ts TEXT NOT NULL,
    last_ts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_uid ON events (object_uid);
CREATE TABLE IF NOT EXISTS event_bodies (
    id INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (namespace, name)
);
CREATE TABLE IF NOT EXISTS pod_state (
    uid TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS probe_results (
    container_id TEXT NOT NULL,
    probe TEXT NOT NULL,
    pod_uid TEXT NOT NULL,
    ok INTEGER NOT NULL,
    PRIMARY KEY (container_id, probe)
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


# (store path, definitions, their newest resourceVersion) this process serves kinds for.
_kinds_seen: tuple[str, int, int] | None = None
_kinds_lock = threading.Lock()


class Snapshot:
    """The stored objects as a write transaction sees them (admission reads through it)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        ns = namespace if kind in meta.NAMESPACED else ""
        row = self._db.execute("SELECT data FROM objects WHERE kind=? AND namespace=? AND "
                               "name=?", (kind, ns, name)).fetchone()
        return json.loads(row[0]) if row else None

    def list(self, kind: str, namespace: str | None = None) -> builtins.list[Obj]:
        """Every object of the kind, or only those of one namespace."""
        if namespace is None:
            rows = self._db.execute("SELECT data FROM objects WHERE kind=?", (kind,)).fetchall()
        else:
            rows = self._db.execute("SELECT data FROM objects WHERE kind=? AND namespace=?",
                                    (kind, namespace)).fetchall()
        return [json.loads(r[0]) for r in rows]


Admit = Callable[[Snapshot], None]


class Dependent(NamedTuple):
    kind: str  # the store key
    namespace: str
    name: str
    uid: str
    owner_references: builtins.list[Obj]
    deleting: bool


class Store:
    """Objects (Namespace, Pod, ReplicationController, Node), events and pod state."""

    def __init__(self, path: Path, on_write: Callable[[], None] | None = None) -> None:
        """`on_write` runs after every committed object write: whoever wants wake-ups
        (the CLI pings the controller) injects it, so the store knows no notifier."""
        self.path = path
        self._on_write = on_write
        # One connection shared by the threads of a process (parallel container starts):
        # transactions on it must not interleave.
        self._lock = threading.RLock()
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so that read-modify-write
        # cycles of concurrent podctl processes serialize instead of failing.
        # It holds Secrets: only its owner may read it, from its first byte (SQLite gives
        # its WAL the same mode); one made by an older podctl is tightened. O_EXCL: closing
        # any descriptor of an open database would drop this process's SQLite locks on it.
        with suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        with suppress(OSError):
            if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
                path.chmod(0o600)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._ensure_default_namespace()
        self.refresh_kinds()

    def refresh_kinds(self) -> None:
        """Serve the kinds of the stored CustomResourceDefinitions (api.crd.register), when
        they changed since this process last looked: one cheap query otherwise."""
        global _kinds_seen
        rows = self._read("SELECT count(*), COALESCE(max(rv), 0) FROM objects WHERE kind=?",
                          (crd.KIND,))
        mark = (str(self.path), int(rows[0][0]), int(rows[0][1]))
        if mark == _kinds_seen:
            return
        with _kinds_lock:  # one thread registers at a time, the newest definitions last
            rows = self._read("SELECT count(*), COALESCE(max(rv), 0) FROM objects "
                              "WHERE kind=?", (crd.KIND,))
            mark = (str(self.path), int(rows[0][0]), int(rows[0][1]))
            if mark != _kinds_seen:
                crd.register(self.list(crd.KIND) if mark[1] else [])
                _kinds_seen = mark

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> builtins.list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _next_rv(self, db: sqlite3.Connection) -> int:
        db.execute(
            "INSERT INTO counters(name, value) VALUES ('rv', 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1"
        )
        row = db.execute("SELECT value FROM counters WHERE name = 'rv'").fetchone()
        return int(row[0])

    def _ensure_default_namespace(self) -> None:
        if self.get("Namespace", "", "default") is None:
            with suppress(AlreadyExists):
                # As the API server's bootstrap makes it (what a Namespace create defaults).
                self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {
                    "name": "default", "labels": {"kubernetes.io/metadata.name": "default"}},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    # -- objects -------------------------------------------------------------------------

    def _changed(self, kind: str) -> None:
        if kind == crd.KIND:  # this process serves what it just defined at once
            self.refresh_kinds()
        if self._on_write is not None:
            self._on_write()

    def create(self, obj: Obj, admit: Admit | None = None) -> Obj:
        """Store a new object, filling uid, creationTimestamp and resourceVersion.

        `admit` reads the store inside the write transaction and may complete the object or
        raise: what it checks (the namespace is not being deleted) cannot change, and what
        it allocates (cluster IPs, node ports) cannot be taken by a concurrent create."""
        kind = meta.key_of(obj)
        md = obj.setdefault("metadata", {})
        ns = md.get("namespace", "") if kind in meta.NAMESPACED else ""
        md.setdefault("uid", meta.new_uid())
        md.setdefault("creationTimestamp", meta.now_rfc3339())
        if kind in meta.NAMESPACED:
            md.setdefault("generation", 1)
        with self.transaction() as db:
            if admit is not None:
                admit(Snapshot(db))
            if self._get(db, kind, ns, md["name"]) is not None:
                raise AlreadyExists(meta.plural(kind), md["name"])
            rv = self._next_rv(db)
            md["resourceVersion"] = str(rv)
            db.execute(
                "INSERT INTO objects(kind, namespace, name, uid, rv, data) VALUES (?,?,?,?,?,?)",
                (kind, ns, md["name"], md["uid"], rv, json.dumps(obj)),
            )
        self._changed(kind)
        return obj

    def check(self, admit: Admit) -> None:
        """Run `admit` on the stored objects as a write would, writing nothing (a dry run)."""
        with self._lock:
            admit(Snapshot(self._db))

    def _get(self, db: sqlite3.Connection, kind: str, ns: str, name: str) -> Obj | None:
        row = db.execute(
            "SELECT data FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, ns, name)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        with self._lock:
            return self._get(self._db, kind, namespace if kind in meta.NAMESPACED else "", name)

    def require(self, kind: str, namespace: str, name: str) -> Obj:
        obj = self.get(kind, namespace, name)
        if obj is None:
            raise NotFound(meta.plural(kind), name)
        return obj

    def get_by_uid(self, uid: str) -> Obj | None:
        rows = self._read("SELECT data FROM objects WHERE uid=?", (uid,))
        return json.loads(rows[0][0]) if rows else None

    def uids(self) -> set[str]:
        """The uid of every stored object."""
        return {str(r[0]) for r in self._read("SELECT uid FROM objects")}

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Objects of a kind, in one namespace or all (None), ordered by namespace and name."""
        if namespace is None or kind not in meta.NAMESPACED:
            rows = self._read("SELECT data FROM objects WHERE kind=? ORDER BY namespace, name",
                              (kind,))
        else:
            rows = self._read("SELECT data FROM objects WHERE kind=? AND namespace=? ORDER BY name",
                              (kind, namespace))
        return [json.loads(r[0]) for r in rows]

    def versions(self, kinds: tuple[str, ...]) -> dict[tuple[str, str, str], int]:
        """(kind, namespace, name) -> resourceVersion, without decoding any object."""
        marks = ",".join("?" * len(kinds))
        rows = self._read(f"SELECT kind, namespace, name, rv FROM objects WHERE kind IN ({marks})",
                          kinds)
        return {(r[0], r[1], r[2]): int(r[3]) for r in rows}

    def dependents(self) -> builtins.list[Dependent]:
        """Every object with ownerReferences, as its key, uid, references and whether it is
        being deleted: read without decoding the objects (the garbage collector's scan)."""
        rows = self._read(
            "SELECT kind, namespace, name, uid, json_extract(data, '$.metadata.ownerReferences'),"
            " json_extract(data, '$.metadata.deletionTimestamp') IS NOT NULL FROM objects "
            "WHERE json_extract(data, '$.metadata.ownerReferences') IS NOT NULL")
        return [Dependent(r[0], r[1], r[2], r[3], json.loads(r[4]), bool(r[5])) for r in rows]

    def unscheduled_pods(self) -> builtins.list[tuple[str, str]]:
        """(namespace, name) of pods bound to no node, found without decoding every pod."""
        rows = self._read("SELECT namespace, name FROM objects WHERE kind='Pod' "
                          "AND COALESCE(json_extract(data, '$.spec.nodeName'), '') = ''")
        return [(r[0], r[1]) for r in rows]

    def update(self, obj: Obj, admit: Admit | None = None) -> Obj:
        """Replace a stored object, as a PUT does: the resourceVersion it carries must still
        be the stored one (Conflict otherwise), so no writer undoes another's change.
        `admit` as for create, run once the version checked out."""
        return self._write(obj, status_only=False, admit=admit)

    def update_status(self, obj: Obj, managed_fields: bool = False) -> Obj:
        """Write only `status` (the /status subresource): spec and metadata stay as stored,
        so a controller's status write never puts back a spec it read earlier.
        `managed_fields`: the object's metadata.managedFields are written too (an API
        request's status write records its manager)."""
        return self._write(obj, status_only=True, managed_fields=managed_fields)

    def mutate(self, kind: str, namespace: str, name: str, change: Callable[[Obj], bool],
               uid: str | None = None) -> Obj | None:
        """Read-modify-write with the API server's conflict retry (read_modify_write)."""
        return read_modify_write(lambda: self.get(kind, namespace, name), change, self.update,
                                 kind, name, uid)

    def _write(self, obj: Obj, status_only: bool, admit: Admit | None = None,
               managed_fields: bool = False) -> Obj:
        kind = meta.key_of(obj)
        md = obj["metadata"]
        ns = md.get("namespace", "") if kind in meta.NAMESPACED else ""
        with self.transaction() as db:
            current = self._get(db, kind, ns, md["name"])
            if current is None or current["metadata"]["uid"] != md["uid"]:
                raise NotFound(meta.plural(kind), md["name"])
            read_rv = md.get("resourceVersion")
            if read_rv is not None and current["metadata"]["resourceVersion"] != read_rv:
                raise Conflict(meta.plural(kind), md["name"])
            if admit is not None:
                admit(Snapshot(db))
            rv = self._next_rv(db)
            if status_only:
                current["status"] = obj.get("status")
                if managed_fields:
                    current["metadata"].pop("managedFields", None)
                    if md.get("managedFields"):
                        current["metadata"]["managedFields"] = md["managedFields"]
                current["metadata"]["resourceVersion"] = str(rv)
                stored = current
            else:
                md["resourceVersion"] = str(rv)
                stored = obj
            db.execute(
                "UPDATE objects SET rv=?, data=? WHERE kind=? AND namespace=? AND name=?",
                (rv, json.dumps(stored), kind, ns, md["name"]),
            )
        md["resourceVersion"] = str(rv)
        self._changed(kind)
        return stored

    def delete(self, kind: str, namespace: str, name: str, uid: str | None = None) -> bool:
        """Remove an object and its kubelet state (events stay); False if it was already gone."""
        ns = namespace if kind in meta.NAMESPACED else ""
        with self.transaction() as db:
            current = self._get(db, kind, ns, name)
            if current is None or (uid is not None and current["metadata"]["uid"] != uid):
                return False
            gone_uid = current["metadata"]["uid"]
            db.execute("DELETE FROM objects WHERE uid=?", (gone_uid,))
            db.execute("DELETE FROM pod_state WHERE uid=?", (gone_uid,))
            db.execute("DELETE FROM probe_results WHERE pod_uid=?", (gone_uid,))
            self._next_rv(db)
        self._changed(kind)
        return True

    def counter(self, name: str) -> int:
        """A named number the controller keeps across restarts (0 when never set)."""
        rows = self._read("SELECT value FROM counters WHERE name=?", (name,))
        return int(rows[0][0]) if rows else 0

    def set_counter(self, name: str, value: int) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO counters(name, value) VALUES (?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (name, value))

    def revision(self) -> int:
        """The store-wide resourceVersion: changes whenever any object changes."""
        rows = self._read("SELECT value FROM counters WHERE name='rv'")
        return int(rows[0][0]) if rows else 0

    # -- events --------------------------------------------------------------------------

    def record_event(
        self,
        obj: Obj,
        type_: str,
        reason: str,
        message: str,
        source: str,
        field_path: str = "",
    ) -> None:
        """Add an event; a repeat of the last identical one only bumps its count."""
        md = obj["metadata"]
        now = meta.now_rfc3339()
        with self.transaction() as db:
            _expire_events(db, now)
            row = db.execute(
                "SELECT id FROM events WHERE object_uid=? AND type=? AND reason=? AND message=? "
                "AND source=? AND field_path=?",
                (md["uid"], type_, reason, message, source, field_path),
            ).fetchone()
            if row:
                db.execute(
                    "UPDATE events SET count=count+1, last_ts=? WHERE id=?", (now, row[0])
                )
                return
            db.execute(
                "INSERT INTO events(namespace, object_kind, object_name, object_uid, field_path, "
                "type, reason, message, source, count, first_ts, last_ts) "
                "VALUES (?,?,?,?,?,?,?,?,?,1,?,?)",
                (md.get("namespace", ""), obj["kind"], md["name"], md["uid"], field_path,
                 type_, reason, message, source, now, now),
            )

    def post_event(self, event: Obj) -> Obj:
        """Store an Event a client wrote (through the API), as it was sent: it keeps its
        name and fields beside the row describe and `get events` read; never merged with
        a repeat (the client counts its own). AlreadyExists when its name is taken."""
        md = event["metadata"]
        namespace, name = md.get("namespace", ""), md["name"]
        involved = event.get("involvedObject") or {}
        now = meta.now_rfc3339()
        md["uid"] = meta.new_uid()
        md["creationTimestamp"] = now
        with self.transaction() as db:
            _expire_events(db, now)
            if db.execute("SELECT 1 FROM event_bodies WHERE namespace=? AND name=?",
                          (namespace, name)).fetchone():
                raise AlreadyExists("events", name)
            cursor = db.execute(
                "INSERT INTO events(namespace, object_kind, object_name, object_uid, field_path, "
                "type, reason, message, source, count, first_ts, last_ts) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (namespace, str(involved.get("kind", "")), str(involved.get("name", "")),
                 str(involved.get("uid", "")), str(involved.get("fieldPath", "")),
                 str(event.get("type", "")), str(event.get("reason", "")),
                 str(event.get("message", "")), _event_source(event),
                 # The row's times are the write's: it expires an hour after it, as the
                 # API server's TTL counts, whatever times the client wrote in the Event.
                 int(event.get("count") or 1), now, now))
            db.execute("INSERT INTO event_bodies(id, namespace, name, data) VALUES (?,?,?,?)",
                       (cursor.lastrowid, namespace, name, json.dumps(event)))
        return event

    def events_for(self, uid: str) -> builtins.list[dict[str, Any]]:
        rows = self._read(
            "SELECT type, reason, message, source, count, first_ts, last_ts, field_path "
            "FROM events WHERE object_uid=? ORDER BY last_ts, id",
            (uid,),
        )
        keys = ("type", "reason", "message", "source", "count", "firstTimestamp",
                "lastTimestamp", "fieldPath")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def list_events(self, namespace: str | None = None) -> builtins.list[Obj]:
        """Events as v1 Event objects, oldest first."""
        where, args = ("WHERE namespace=?", (namespace,)) if namespace is not None else ("", ())
        rows = self._read(
            "SELECT events.id, events.namespace, object_kind, object_name, object_uid, "
            "field_path, type, reason, message, source, count, first_ts, last_ts, data "
            "FROM events LEFT JOIN event_bodies ON event_bodies.id = events.id "
            f"{where.replace('namespace', 'events.namespace')} ORDER BY last_ts, events.id",
            args)
        return [json.loads(row[-1]) if row[-1] else _event_object(*row[:-1]) for row in rows]

    # -- controller-owned pod state (kubelet's memory: image errors, probes, backoff) -----

    def pod_state(self, uid: str) -> dict[str, Any]:
        rows = self._read("SELECT data FROM pod_state WHERE uid=?", (uid,))
        return json.loads(rows[0][0]) if rows else {}

    def pod_states(self) -> dict[str, dict[str, Any]]:
        rows = self._read("SELECT uid, data FROM pod_state")
        return {r[0]: json.loads(r[1]) for r in rows}

    def put_pod_state(self, uid: str, state: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO pod_state(uid, data) VALUES (?, ?) "
                "ON CONFLICT(uid) DO UPDATE SET data=excluded.data",
                (uid, json.dumps(state)),
            )

    # -- probe results: per container instance, so a new container starts from scratch ---

    def set_probe_result(self, pod_uid: str, container_id: str, probe: str, ok: bool) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO probe_results(container_id, probe, pod_uid, ok) VALUES (?,?,?,?) "
                "ON CONFLICT(container_id, probe) DO UPDATE SET ok=excluded.ok",
                (container_id, probe, pod_uid, int(ok)),
            )

    def probe_results(self, pod_uid: str | None = None) -> dict[str, dict[str, bool]]:
        """container id -> {probe kind: passing}, for one pod or all."""
        where, args = ("WHERE pod_uid=?", (pod_uid,)) if pod_uid is not None else ("", ())
        out: dict[str, dict[str, bool]] = {}
        for container_id, probe, ok in self._read(
            f"SELECT container_id, probe, ok FROM probe_results {where}", args
        ):
            out.setdefault(container_id, {})[probe] = bool(ok)
        return out


def _hour_before(timestamp: str) -> str:
    from datetime import timedelta

    return meta.format_time(meta.parse_time(timestamp) - timedelta(hours=1))


def _expire_events(db: sqlite3.Connection, now: str) -> None:
    """Events outlive their objects, for an hour, as the API server keeps them."""
    db.execute("DELETE FROM events WHERE last_ts < ?", (_hour_before(now),))
    db.execute("DELETE FROM event_bodies WHERE id NOT IN (SELECT id FROM events)")


def _event_source(event: Obj) -> str:
    """The From column: the legacy source's component, else the reporting controller."""
    source = event.get("source")
    component = source.get("component") if isinstance(source, dict) else None
    return str(component or event.get("reportingComponent") or "")


def _event_object(event_id: int, namespace: str, kind: str, name: str, uid: str,
                  field_path: str, type_: str, reason: str, message: str, source: str,
                  count: int, first: str, last: str) -> Obj:
    involved: Obj = {"apiVersion": "v1", "kind": kind, "name": name, "namespace": namespace,
                     "uid": uid}
    if field_path:
        involved["fieldPath"] = field_path
    return {
        "apiVersion": "v1", "kind": "Event", "count": count, "firstTimestamp": first,
        "involvedObject": involved, "lastTimestamp": last, "message": message,
        "metadata": {"name": f"{name}.{event_id:016x}", "namespace": namespace,
                     "creationTimestamp": first, "uid": f"{uid[:24]}{event_id:012x}"},
        "reason": reason, "source": {"component": source}, "type": type_,
    }


_retry_delays = (0.05, 0.1, 0.2)


def open_store(home: Path | None = None, on_write: Callable[[], None] | None = None) -> Store:
    """Open (creating when needed) the store in $PODCTL_HOME."""
    path = (home or podctl_home()) / "store.db"
    for delay in _retry_delays:
        try:
            return Store(path, on_write)
        except sqlite3.OperationalError:
            # Two processes creating a brand-new database can collide on the schema.
            time.sleep(delay)
    return Store(path, on_write)


CONFLICT_RETRIES = 64  # re-reads when other writers keep winning


def read_modify_write(read: Callable[[], Obj | None], change: Callable[[Obj], bool],
                      write: Callable[[Obj], Obj], kind: str, name: str,
                      uid: str | None = None) -> Obj | None:
    """`change` edits a fresh read in place and says whether it changed anything; `write`
    stores it, and on a Conflict all runs again on a new read. None when the object (with
    that uid) is gone; the stored object otherwise."""
    for _ in range(CONFLICT_RETRIES):
        current = read()
        if current is None or (uid is not None and meta.uid_of(current) != uid):
            return None
        if not change(current):
            return current
        try:
            return write(current)
        except Conflict:
            continue
        except NotFound:
            return None
    raise Conflict(meta.plural(kind), name)
