"""What a test session left on the host, for the check that ends every run (tests/conftest.py).

Every home a test makes is recorded (one line per home id in a file of the session's own
directory, shared with the xdist workers through the environment); at the end the homes'
labels and chain names say what is left. Other sessions sharing the engine have homes of their
own, which are never looked at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

SESSION_ENV = "PODCTL_TEST_SESSION"
HOMES_FILE = "homes"


def track_home(homeid: str) -> None:
    """Record a home this session made (a no-op outside a session, e.g. a bare import)."""
    directory = os.environ.get(SESSION_ENV)
    if not directory:
        return
    # One short O_APPEND write: lines from parallel workers never interleave.
    fd = os.open(Path(directory) / HOMES_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, f"{homeid}\n".encode())
    finally:
        os.close(fd)


def tracked_homes(directory: Path) -> set[str]:
    path = directory / HOMES_FILE
    return set(path.read_text().split()) if path.exists() else set()


def homes_on_host() -> set[str]:
    """Every home with something on the engine or in the host's rules, whoever made it: on
    a CI machine, where nothing but the tests runs podctl, they are all the run's."""
    import json

    from podctl.proxy import apply, rules
    from podctl.runtime import naming
    from podctl.runtime.client import container_list, engine_call

    query = {"filters": json.dumps({"label": [naming.HOME]})}
    labelled = [*container_list({"label": [naming.HOME]}),
                *(engine_call("GET", "/volumes", query)["Volumes"] or []),
                *engine_call("GET", "/networks", query)]
    found = {str((entry.get("Labels") or {}).get(naming.HOME)) for entry in labelled}
    return found | rules.homes(apply.host_rules())


def leftovers(homeids: set[str]) -> list[str]:
    """One line per home with something left on the engine or in the host's rules, and
    one for the shared pod network if no home is left to use it."""
    from podctl.proxy import apply, podnet, rules
    from podctl.runtime import engines as sockets
    from podctl.runtime import leftovers as engine
    from podctl.runtime.network import NETWORK_NAME

    found = []
    for homeid in sorted(homeids):
        objects = engine.find(homeid)
        parts = [f"{what}: {', '.join(names)}" for what, names in (
            ("containers", objects.containers), ("volumes", objects.volumes),
            ("networks", objects.networks)) if names]
        if sockets.home_sockets(homeid).exists():
            parts.append(f"node sockets: {sockets.home_sockets(homeid)}")
        if parts:
            found.append(f"home {homeid}: " + "; ".join(parts))
    saved = apply.host_rules()
    for homeid in sorted(rules.homes(saved) & homeids):
        lines = rules.owned_lines(homeid, saved)
        found.append(f"home {homeid}: {len(lines)} iptables rule lines (PODCTL-{homeid}-*)")
    routes = _host_routes()
    for homeid in sorted(homeids):
        mine = [r for r in routes if r.metric == podnet.home_metric(homeid)]
        if mine:
            found.append(f"home {homeid}: {len(mine)} routes of the pod network "
                         f"({', '.join(r.dst for r in mine)})")
    if not engine.any_home_left() and _network_exists(NETWORK_NAME):
        found.append(f'the shared pod network "{NETWORK_NAME}", though no home is left')
    return found


def _host_routes() -> list[Any]:
    """podctl's routes in the host's table, read in a short-lived container of the network
    agent's image on the host's network (the engine may be another machine's)."""
    import docker

    from podctl.proxy import podnet

    client = docker.from_env()
    try:
        out = client.containers.run(
            "podctl/kindnet:1", ["-4", "route", "show", "proto", str(podnet.ROUTE_PROTO)],
            entrypoint=[podnet.IP], network_mode="host", remove=True)
    except docker.errors.ImageNotFound:
        return []
    finally:
        client.close()
    routes: list[Any] = podnet.parse_routes(out.decode())
    return routes


def _network_exists(name: str) -> bool:
    import json

    from podctl.runtime.client import engine_call

    listed = engine_call("GET", "/networks", {"filters": json.dumps({"name": [name]})})
    return any(n.get("Name") == name for n in listed)
