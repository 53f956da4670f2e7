"""/healthz, /livez and /readyz as the API server serves them: `ok`, or with `?verbose` one
line per check and `<endpoint> check passed`; a failing check makes it a 500 that names
the check but withholds its reason (anyone may ask; the reason goes to the log), and
`?exclude=<check>` skips one. Each check also answers alone at `/livez/<check>`.

The checks:
- ping: the API's event loop answers at all.
- store: the store answers a read within CHECK_SECONDS (upstream's `etcd`).
- informer-sync: the watch hub has listed the store and still follows it, so watches
  see every change (upstream's check of the same name, for its informers).
- controller: the controller's loops run in this process and its store watch turned
  within STALL_SECONDS; or, for a standby, another process holds the controller lock.
- shutdown: the server is not stopping.
Liveness (and /healthz) is ping and store: what a restart would cure. Readiness adds
what the API needs to serve watches and to have its writes acted on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from podctl import instrument
from podctl.apiserver import pools
from podctl.leader import controller_running
from podctl.store import Store

log = logging.getLogger("podctl.apiserver")

CHECK_SECONDS = 5.0
STALL_SECONDS = 60.0
ENDPOINTS = {"healthz": ("ping", "store"), "livez": ("ping", "store"),
             "readyz": ("ping", "store", "informer-sync", "controller", "shutdown")}
HEADERS = {"X-Content-Type-Options": "nosniff"}

Check = Callable[[], Awaitable[str | None]]  # None: passed; else why not


@dataclass(frozen=True)
class Outcome:
    name: str
    reason: str | None = None  # why it failed
    excluded: bool = False


def render(endpoint: str, outcomes: list[Outcome], unmatched: list[str],
           verbose: bool) -> tuple[int, str]:
    """The status and body of /<endpoint> (upstream's wording, line for line)."""
    lines = []
    for outcome in outcomes:
        if outcome.excluded:
            lines.append(f"[+]{outcome.name} excluded: ok")
        elif outcome.reason is None:
            lines.append(f"[+]{outcome.name} ok")
        else:
            lines.append(f"[-]{outcome.name} failed: reason withheld")
    if unmatched:
        lines.append("warn: some health checks cannot be excluded: no matches for "
                     + ",".join(f'"{name}"' for name in sorted(unmatched)))
    text = "".join(line + "\n" for line in lines)
    if any(o.reason is not None for o in outcomes):
        return 500, f"{text}{endpoint} check failed\n"
    return 200, f"{text}{endpoint} check passed\n" if verbose else "ok"


class Health:
    def __init__(self, store: Store, home: Path, hub: Any, hub_task: asyncio.Task[None]) -> None:
        self.store, self.home, self.hub, self.hub_task = store, home, hub, hub_task
        self.stopping = False
        self.checks: dict[str, Check] = {
            "ping": self._ping, "store": self._store, "informer-sync": self._informer_sync,
            "controller": self._controller, "shutdown": self._shutdown}

    def routes(self) -> list[tuple[str, Callable[[web.Request], Awaitable[web.Response]]]]:
        out = []
        for endpoint, names in ENDPOINTS.items():
            out.append((f"/{endpoint}", self._endpoint_handler(endpoint)))
            out += [(f"/{endpoint}/{name}", self._check_handler(name)) for name in names]
        return out

    def _endpoint_handler(self, endpoint: str) -> Callable[[web.Request],
                                                            Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            excluded = set(request.query.getall("exclude", []))
            outcomes = await self._run(ENDPOINTS[endpoint], excluded)
            failed = [o for o in outcomes if o.reason is not None]
            if failed:
                log.info("%s check failed: %s", endpoint,
                         "; ".join(f"{o.name}: {o.reason}" for o in failed))
            status, text = render(endpoint, outcomes, sorted(excluded - set(ENDPOINTS[endpoint])),
                                  "verbose" in request.query)
            return web.Response(text=text, status=status, content_type="text/plain",
                                charset="utf-8", headers=HEADERS)

        return serve

    def _check_handler(self, name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            reason = await self.checks[name]()
            text = "ok" if reason is None else f"internal server error: {reason}\n"
            return web.Response(text=text, status=200 if reason is None else 500,
                                content_type="text/plain", charset="utf-8", headers=HEADERS)

        return serve

    async def _run(self, names: tuple[str, ...], excluded: set[str]) -> list[Outcome]:
        outcomes = []
        for name in names:
            if name in excluded:
                outcomes.append(Outcome(name, excluded=True))
            else:
                outcomes.append(Outcome(name, await self.checks[name]()))
        return outcomes

    async def _ping(self) -> str | None:
        return None

    async def _store(self) -> str | None:
        try:
            await asyncio.wait_for(pools.run_in(pools.installed().health, self.store.revision),
                                   CHECK_SECONDS)
        except TimeoutError:
            return f"the store did not answer within {CHECK_SECONDS:g}s"
        except Exception as exc:
            return f"the store failed: {exc}"
        return None

    async def _informer_sync(self) -> str | None:
        if self.hub_task.done():
            return "the watch hub stopped"
        if not self.hub.ready.is_set():
            return "the watch hub has not listed the store yet"
        return None

    async def _controller(self) -> str | None:
        state = instrument.active_controller()
        if state is None:
            if controller_running(self.home):
                return None  # another process's controller is active; this one stands by
            return f"no controller is active for {self.home}"
        stopped = sorted(name for name, thread in state.loops.items() if not thread.is_alive())
        if stopped:
            return f"controller loops stopped: {', '.join(stopped)}"
        idle = time.monotonic() - state.last_turn("store")
        if idle > STALL_SECONDS:
            return f"the controller's store watch has not turned for {idle:.0f}s"
        return None

    async def _shutdown(self) -> str | None:
        return "the server is shutting down" if self.stopping else None
