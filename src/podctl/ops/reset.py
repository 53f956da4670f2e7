"""`podctl reset`: everything a home made on the engine goes, then the home itself, as
`kind delete cluster` deletes a cluster: its controller, its iptables rules (through the data
plane: a proxy container), its containers, volumes and networks (all found by the home's
label), its kubeconfig context, and its directory. Running it again finds nothing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from podctl.admission import tolerations
from podctl.api import identity
from podctl.apiserver import credentials
from podctl.controllers.dataplane import APPLIED
from podctl.controllers.podnetwork import remove_home_routes
from podctl.home import home_id
from podctl.leader import LOCK_NAME, PID_NAME, stop_controllers
from podctl.locks import LOCKS_DIR
from podctl.notify import SOCKET_NAME, WATCHERS_DIR
from podctl.proxy import apply
from podctl.runtime import engines, leftovers
from podctl.runtime.configvolumes import VOLUMES_DIR
from podctl.store import Store

STORE_FILE = "store.db"
# Everything podctl makes in a home; anything else found there is the user's and stays.
HOME_ENTRIES = frozenset({
    STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm", f"{STORE_FILE}-journal",
    LOCKS_DIR, LOCK_NAME, PID_NAME, SOCKET_NAME, WATCHERS_DIR, VOLUMES_DIR,
    "controller.log",  # run-controller --detach's default log
    credentials.TOKEN_FILE, credentials.CA_CERT, credentials.CA_KEY, credentials.SERVER_CERT,
    credentials.SERVER_KEY, credentials.ANNOUNCE_FILE, credentials.NAMES_FILE,
    tolerations.SETTINGS_FILE, tolerations.SETTINGS_PARTIAL,
    identity.SIGNING_KEY,  # a new key after a reset: the old home's tokens stop working
})


@dataclass
class Report:
    """What a reset found and removed, for one line per kind of thing."""

    home: Path
    homeid: str
    controllers: list[int] = field(default_factory=list)
    rule_lines: int = 0
    routes: int = 0
    engine: leftovers.EngineObjects = field(default_factory=leftovers.EngineObjects)
    pod_network: bool = False
    kubeconfig: Path | None = None
    home_removed: bool = False
    kept: list[str] = field(default_factory=list)  # the user's files left in the home

    def nothing(self) -> bool:
        return not (self.controllers or self.rule_lines or self.routes or self.engine
                    or self.pod_network or self.kubeconfig or self.home_removed)


def reset(home: Path) -> Report:
    """Remove the home at `home` from the engine and the disk; safe to run again."""
    report = Report(home, home_id(home))
    if home.is_dir():
        report.controllers = stop_controllers(home)
    report.engine = leftovers.find(report.homeid)
    report.rule_lines = remove_rules(home, report.homeid)
    # Before the containers go: the host's agent of this home takes its routes with it.
    report.routes = remove_home_routes(report.homeid)
    leftovers.remove(report.engine)
    # The node containers' socket directories (gone with their containers just now).
    shutil.rmtree(engines.home_sockets(report.homeid), ignore_errors=True)
    report.pod_network = leftovers.remove_pod_network_if_unused()
    kubeconfig = credentials.default_kubeconfig()
    if credentials.forget(kubeconfig, home):
        report.kubeconfig = kubeconfig
    report.home_removed, report.kept = remove_home_dir(home)
    return report


def remove_rules(home: Path, homeid: str) -> int:
    """The home's chains and jumps, through its running kube-proxy or a short-lived proxy
    container; how many lines of the tables were the home's. Its store says whether it may
    have any (the count is raised before rules are written); without a store, the host is
    asked."""
    proxy = apply.home_proxy(homeid)
    store_file = home / STORE_FILE
    if proxy is None and store_file.exists():
        store = Store(store_file)
        try:
            if not store.counter(APPLIED):
                return 0
        finally:
            store.close()
    return apply.remove_all(homeid, proxy)


def remove_home_dir(home: Path) -> tuple[bool, list[str]]:
    """Remove what podctl made in the home, and the home when nothing else is in it;
    (whether anything was removed, the names of the user's entries left there)."""
    if not home.is_dir():
        return False, []
    entries = list(home.iterdir())
    ours = [e for e in entries if e.name in HOME_ENTRIES or _temporary(e.name)]
    kept = sorted(e.name for e in entries if e not in ours)
    for entry in ours:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)
    if not kept:
        home.rmdir()
    return bool(ours) or not kept, kept


def _temporary(name: str) -> bool:
    """A secret's temporary file left by a process killed while writing it."""
    return any(name.startswith(f".{entry}.") for entry in HOME_ENTRIES)
