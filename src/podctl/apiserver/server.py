"""Run the API in a thread of the controller process: aiohttp on its own event loop, every
request authenticated (authn), TLS beyond loopback."""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from podctl.apiserver import credentials
from podctl.errors import PodctlError
from podctl.notify import notify_controller
from podctl.store import open_store

if TYPE_CHECKING:
    from aiohttp import web

    from podctl.apiserver import incluster
    from podctl.apiserver.health import Health
    from podctl.apiserver.metrics import ApiMetrics
    from podctl.store import Store

log = logging.getLogger("podctl.apiserver")

DEFAULT_ADDRESS = "127.0.0.1:6443"


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise PodctlError(f'invalid --api address "{text}": expected HOST:PORT')
    return host.strip("[]") or "127.0.0.1", int(port)


def check_bind(host: str, tls: bool) -> None:
    if not tls and not credentials.is_loopback(host):
        raise PodctlError(f"refusing to serve the API on {host} without TLS: only a loopback "
                          "address may go without it (drop --api-no-tls)")


class ApiServer:
    """Started by `run-controller --api`; serves until stop()."""

    def __init__(self, home: Path, host: str, port: int, tls: bool = True) -> None:
        check_bind(host, tls)
        self.home, self.host, self.port, self.tls = home, host, port, tls
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._health: Health | None = None
        self._thread = threading.Thread(target=self._run, name="apiserver", daemon=True)

    def start(self) -> None:
        """Serve in the background; raises when the address cannot be bound."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise PodctlError(f"cannot serve the API on {self.host}:{self.port}: "
                              f"{self._error}")

    def stop(self) -> None:
        if self._health is not None:
            self._health.stopping = True
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start() when it came before serving
            self._error = exc
            self._ready.set()
            if not isinstance(exc, OSError | PodctlError):
                log.exception("the API server failed")

    async def _serve(self) -> None:
        from aiohttp import web

        from podctl.apiserver import (
            authn,
            authz,
            incluster,
            limits,
            pools,
            routes,
            satokens,
            watch,
        )
        from podctl.apiserver.filters import Filters
        from podctl.apiserver.health import Health
        from podctl.apiserver.metrics import ApiMetrics

        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        hub = watch.Hub(self._loop)
        # Our own writes wake the controller (it may be another process) and our watchers.
        store = open_store(self.home, functools.partial(_wrote, self.home, hub))
        ctx = routes.Context(store, self.home, hub)
        in_flight = limits.InFlight()
        metrics = ApiMetrics(in_flight)
        filters = Filters(metrics, in_flight)
        hub_task = asyncio.create_task(hub.run(store, self.home))
        self._health = Health(store, self.home, hub, hub_task)
        paths: list[tuple[str, routes.PathHandler]] = [
            *self._health.routes(), ("/metrics", functools.partial(_metrics, metrics))]
        app = routes.make_app(ctx, filters.around(authn.middleware(), authz.middleware()),
                              paths)
        app[authn.APP_KEY] = authn.Authenticator(credentials.token(self.home))
        app[authz.POLICY_KEY] = authz.PolicyCache(store)
        satokens.install(app, store, self.home)
        # keepalive_timeout: aiohttp arms it when a connection opens and when a response
        # ends, and closes the connection if no whole request head came by then: the
        # header timeout and the idle timeout in one. handler_cancellation: a client that
        # hangs up ends its handler (a watch, a log follow) at once.
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               keepalive_timeout=limits.HEADER_SECONDS,
                               handler_cancellation=True, shutdown_timeout=1)
        await runner.setup()
        thread_pools = pools.Pools(limits.READ_THREADS, limits.WRITE_THREADS,
                                   limits.MAX_LONG_RUNNING)
        pools.install(thread_pools)
        sweeper = asyncio.create_task(filters.sweep_bodies())
        try:
            assert runner.server is not None
            protocol = functools.partial(
                _admit, runner.server,
                limits.max_connections(resource.getrlimit(resource.RLIMIT_NOFILE)[0]))
            where = await routes.blocking(incluster.find, store, self.home)
            listener = await self._listen(protocol, where.names() if where else [])
            pods = await self._listen_for_pods(protocol, store, where)
            log.info("serving the Kubernetes API at %s", self.url)
            self._ready.set()
            await self._stopped.wait()
            listener.close()
            if pods is not None:
                pods.close()
                await routes.blocking(incluster.withdraw, store)
        finally:
            sweeper.cancel()
            hub_task.cancel()
            await runner.cleanup()
            hub.close()
            store.close()
            pools.install(None)
            thread_pools.shutdown()

    def _tls(self, names: list[str]) -> tuple[ssl.SSLContext, Path]:
        """The serving context (its certificate names the host, loopback and `names`) and
        the CA file."""
        files = credentials.ensure_tls(self.home, self.host, tuple(names))
        return tls_context(files), files.ca_cert

    async def _listen(self, protocol: Callable[[], asyncio.BaseProtocol],
                      names: list[str]) -> asyncio.AbstractServer:
        """Listen (TLS beyond loopback): asyncio's server rather than aiohttp's site, which
        cannot bound the TLS handshake (asyncio waits 60 s for one by default)."""
        from podctl.apiserver.limits import HEADER_SECONDS

        assert self._loop is not None
        ssl_context = None
        ca_file = None
        if self.tls:
            ssl_context, ca_file = self._tls(names)
        listener = await self._loop.create_server(
            protocol, self.host, self.port, ssl=ssl_context,
            ssl_handshake_timeout=HEADER_SECONDS if ssl_context else None)
        if self.port == 0:
            self.port = int(listener.sockets[0].getsockname()[1])
        credentials.announce(self.home, self.url, ca_file)
        return listener


    async def _listen_for_pods(self, protocol: Callable[[], asyncio.BaseProtocol],
                               store: Store, where: incluster.InCluster | None
                               ) -> asyncio.AbstractServer | None:
        """The listener pods reach (always TLS, on the pod network's gateway), at the
        loopback listener's port when it is free there, and the `kubernetes` Service's
        endpoints naming it; None when the engine does not answer or the address cannot
        be bound (the host's clients are served all the same)."""
        from podctl.apiserver import incluster, routes
        from podctl.apiserver.limits import HEADER_SECONDS

        assert self._loop is not None
        if where is None or where.gateway == self.host:
            return None
        ssl_context, _ = self._tls(where.names())
        listener = None
        for port in (self.port, 0):
            try:
                listener = await self._loop.create_server(
                    protocol, where.gateway, port, ssl=ssl_context,
                    ssl_handshake_timeout=HEADER_SECONDS)
                break
            except OSError as exc:
                log.info("pods' address %s:%d: %s", where.gateway, port, exc)
        if listener is None:
            log.warning("pods cannot reach the API: %s cannot be bound", where.gateway)
            return None
        port = int(listener.sockets[0].getsockname()[1])
        await routes.blocking(incluster.publish, store, where, port)
        log.info("serving the Kubernetes API to pods at https://%s:%d (the kubernetes "
                 "Service, %s:443)", where.gateway, port, where.cluster_ip)
        return listener


def tls_context(files: credentials.TlsFiles) -> ssl.SSLContext:
    """The server's certificate; client certificates the home's CA signed authenticate
    their user (authn), and a client without one (a token) is served as well."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(files.ca_cert)
    return context


class _Refused(asyncio.Protocol):
    """A connection over the limit: closed as soon as it is made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


def _admit(server: web.Server, limit: int) -> asyncio.BaseProtocol:
    """aiohttp's protocol for a new connection, or a refusal once `limit` are open."""
    if len(server.connections) >= limit:
        return _Refused()
    return server()


async def _metrics(metrics: ApiMetrics, request: web.Request) -> web.Response:
    from aiohttp import web

    from podctl.apiserver.metrics import CONTENT_TYPE
    from podctl.apiserver.routes import blocking

    return web.Response(body=await blocking(metrics.exposition),
                        headers={"Content-Type": CONTENT_TYPE})


def _wrote(home: Path, hub: object) -> None:
    notify_controller(home)
    wake = getattr(hub, "wake_threadsafe", None)
    if wake is not None:
        wake()
