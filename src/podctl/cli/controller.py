"""`podctl run-controller` (foreground or --detach) and `podctl stop-controller`."""

from __future__ import annotations

import os
import signal
import sys
import time

import click

from podctl.cli import terminal

API_ADDRESS = "127.0.0.1:6443"
MAX_SECONDS = 2**63 // 10**9  # tolerationSeconds as a Go duration: int64 nanoseconds
MIN_METRIC_RESOLUTION = 10.0


@click.command("run-controller")
@click.option("--detach", is_flag=True, help="Run in the background (pid file in $PODCTL_HOME).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Write the log here instead of stderr.")
@click.option("--resync", type=float, default=30.0, show_default=True,
              help="Seconds between full resyncs (events act at once).")
@click.option("--api", "api", is_flag=False, flag_value=API_ADDRESS, default=None,
              metavar="[HOST:PORT]",
              help=f"Serve the Kubernetes API (default {API_ADDRESS}); see `podctl kubeconfig`.")
@click.option("--api-tls/--api-no-tls", default=True, show_default=True,
              help="Serve the API over TLS (a self-signed CA kept in $PODCTL_HOME). kubectl "
                   "sends its token over TLS only; plain HTTP is for loopback only.")
@click.option("--node-monitor-grace-period", "grace", default="50s", show_default=True,
              metavar="DURATION",
              help="How long a node's kubelet may be silent before the node is NotReady "
                   "(Unknown) and tainted unreachable.")
@click.option("--node-monitor-period", "period", default="5s", show_default=True,
              metavar="DURATION", help="How often every node's health is checked.")
@click.option("--node-startup-grace-period", "startup_grace", default="1m0s",
              show_default=True, metavar="DURATION",
              help="How long a registered node's kubelet may take to post its first status "
                   "before the node is NotReady (Unknown).")
@click.option("--default-not-ready-toleration-seconds", "not_ready", default=300,
              show_default=True, type=click.IntRange(0, MAX_SECONDS),
              help="tolerationSeconds of the not-ready:NoExecute toleration every pod is "
                   "given.")
@click.option("--default-unreachable-toleration-seconds", "unreachable", default=300,
              show_default=True, type=click.IntRange(0, MAX_SECONDS),
              help="tolerationSeconds of the unreachable:NoExecute toleration every pod "
                   "is given.")
@click.option("--metric-resolution", "resolution", default="15s", show_default=True,
              metavar="DURATION",
              help="How often every container's CPU and memory are read for the metrics API "
                   "(kubectl top) and the autoscalers, as metrics-server's flag.")
@click.option("--ingress-http-port", "http_port", default=80, show_default=True,
              type=click.IntRange(1, 65535),
              help="The port the ingress controller serves HTTP on, on every node.")
@click.option("--ingress-https-port", "https_port", default=443, show_default=True,
              type=click.IntRange(1, 65535),
              help="The port the ingress controller serves HTTPS on, on every node.")
@click.pass_context
def run_controller(ctx: click.Context, detach: bool, log_file: str | None,
                   resync: float, api: str | None, api_tls: bool, grace: str, period: str,
                   startup_grace: str, not_ready: int, unreachable: int, resolution: str,
                   http_port: int, https_port: int) -> None:
    """Run the kubelet's and the controllers' loops (probes, restarts, every controller,
    the Services data plane) until SIGINT/SIGTERM."""
    from podctl.home import podctl_home

    grace_seconds = _duration(grace, "--node-monitor-grace-period")
    period_seconds = _duration(period, "--node-monitor-period")
    startup_seconds = _duration(startup_grace, "--node-startup-grace-period")
    resolution_seconds = _duration(resolution, "--metric-resolution")
    if resolution_seconds < MIN_METRIC_RESOLUTION:
        # metrics-server's floor: a scrape reads every container, so a typo must not make
        # it a loop that keeps the engine busy.
        raise click.UsageError(f"metric-resolution should be a time duration at least 10s, "
                               f"but value {resolution} provided")
    home = podctl_home()
    verbose = int((ctx.find_root().params or {}).get("verbose") or 0)
    server = None
    if api is not None:
        from podctl.apiserver.server import ApiServer, parse_address

        server = ApiServer(home, *parse_address(api), tls=api_tls)  # refuses a bad bind early
    if detach:
        extra = ([f"--api={api}"] + ([] if api_tls else ["--api-no-tls"])) if api else []
        extra += [f"--node-monitor-grace-period={grace}", f"--node-monitor-period={period}",
                  f"--node-startup-grace-period={startup_grace}",
                  f"--default-not-ready-toleration-seconds={not_ready}",
                  f"--default-unreachable-toleration-seconds={unreachable}",
                  f"--metric-resolution={resolution}",
                  f"--ingress-http-port={http_port}", f"--ingress-https-port={https_port}"]
        _detach(home, log_file or str(home / "controller.log"), resync, verbose, extra)
        return
    _configure_logging(log_file, verbose)
    import threading

    from podctl import controller

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if server is not None:
        # Before the leader lock: a standby serves too (reads and writes go to the store).
        server.start()
    nodes = controller.NodeSettings(grace_seconds, period_seconds, not_ready, unreachable,
                                    startup_seconds)
    from podctl.proxy.ingress import Ports

    try:
        controller.run(stop, resync_seconds=resync, nodes=nodes,
                       metric_resolution=resolution_seconds,
                       ingress_ports=Ports(http_port, https_port))
    finally:
        if server is not None:
            server.stop()
    _exit_leaving_docker_calls()


def _duration(text: str, flag: str) -> float:
    """A Go duration flag's value in seconds, refused as the controller manager does; it
    must be positive."""
    from podctl.controllers.nodelifecycle import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise click.UsageError(f'invalid argument "{text}" for "{flag}" flag: {exc}') from exc
    if seconds <= 0:
        raise click.UsageError(f'invalid argument "{text}" for "{flag}" flag: must be '
                               "greater than 0")
    return seconds


def _exit_leaving_docker_calls() -> None:
    """Exit now, as a Go controller's main returning does. Pod workers may still be inside
    Docker calls on thread pools, which a normal exit would wait for (a graceful stop takes
    up to its grace period): the pods keep running, the store's transactions are atomic,
    and the next controller carries on from what the engine and the store hold, as after a
    kill -9."""
    import logging

    logging.shutdown()  # flushes the log; terminal.out and err flush as they write
    os._exit(0)


def _configure_logging(log_file: str | None, verbose: int) -> None:
    import logging

    handler = logging.FileHandler(log_file) if log_file else terminal.log_handler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname).1s %(name)s: %(message)s"))
    root = logging.getLogger("podctl")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


def _detach(home: object, log_file: str, resync: float, verbose: int,
            extra: list[str]) -> None:
    import subprocess
    from pathlib import Path

    from podctl.leader import holder_pid

    args = [sys.executable, "-m", "podctl.cli"] + ["-v"] * verbose + [
        "run-controller", "--log-file", log_file, "--resync", str(resync), *extra]
    with open(os.devnull, "rb") as null_in, open(log_file, "ab") as out:
        child = subprocess.Popen(args, stdin=null_in, stdout=out, stderr=out,
                                 start_new_session=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and child.poll() is None:
        if holder_pid(Path(str(home))) == child.pid:
            terminal.out(f"controller running in the background (pid {child.pid}); "
                         f"log: {log_file}")
            return
        time.sleep(0.05)
    if child.poll() is not None:
        raise click.ClickException(f"the controller exited at once; see {log_file}")
    terminal.out(f"controller started as standby (pid {child.pid}): pid "
                 f"{holder_pid(Path(str(home)))} is active; log: {log_file}")


@click.command("stop-controller")
def stop_controller() -> None:
    """Stop the active controller (SIGTERM); pods keep running."""
    from podctl.home import podctl_home
    from podctl.leader import controller_running, holder_pid

    home = podctl_home()
    pid = holder_pid(home)
    if pid is None or not controller_running(home):
        terminal.out("no controller is running")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and controller_running(home):
        time.sleep(0.05)
    terminal.out(f"controller (pid {pid}) stopped")


@click.command("kubeconfig")
@click.option("--merge", is_flag=True,
              help="Add the podctl context to ~/.kube/config (or $KUBECONFIG) and use it.")
@click.option("--user", "user", metavar="NAME",
              help="Issue a client certificate for this user (not the admin token): the "
                   "API knows them as NAME, and RBAC decides what they may do.")
@click.option("--group", "groups", multiple=True, metavar="GROUP",
              help="A group of --user (repeatable).")
def kubeconfig(merge: bool, user: str | None, groups: tuple[str, ...]) -> None:
    """Print a kubeconfig for the API `run-controller --api` serves (context `podctl`).

    With --user, the context is `NAME@podctl` and its user a client certificate."""
    import yaml

    from podctl.apiserver import credentials
    from podctl.home import podctl_home

    if groups and user is None:
        raise click.UsageError("--group needs --user")
    ours = credentials.kubeconfig(podctl_home(), user, groups)
    if not merge:
        terminal.out(yaml.safe_dump(ours, sort_keys=False).rstrip("\n"))
        return
    path = credentials.default_kubeconfig()
    credentials.merge_into(path, ours)
    terminal.out(f'Context "{ours["current-context"]}" merged into {path}; it is the current '
                 "context now.")


COMMANDS = [run_controller, stop_controller, kubeconfig]
