"""`podctl port-forward`: local ports relayed to a pod, following it by name."""

from __future__ import annotations

import re

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option
from podctl.cli.completion import complete_pods

_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                 "h": 3600.0}


def _running_timeout(text: str) -> float:
    """Seconds in a Go duration such as `1m0s`, `90s` or `1.5h`, worded as kubectl's flag."""
    from podctl.errors import PodctlError

    parts = _DURATION_PART.findall(text)
    if text != "0" and (not parts or "".join(n + u for n, u in parts) != text):
        raise PodctlError(f'invalid argument "{text}" for "--pod-running-timeout" flag: '
                          f'time: invalid duration "{text}"')
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise PodctlError("--pod-running-timeout must be higher than zero")
    return seconds


@click.command("port-forward")
@click.argument("resource", metavar="TYPE/NAME", shell_complete=complete_pods)
@click.argument("ports", nargs=-1, metavar="[LOCAL_PORT:]REMOTE_PORT...")
@namespace_option
@click.option("--address", "addresses", multiple=True, default=("localhost",),
              show_default=True,
              help="Addresses to listen on (comma-separated, repeatable): IPs or localhost "
                   "(127.0.0.1 and ::1).")
@click.option("--pod-running-timeout", "running_timeout", default="1m0s", show_default=True,
              help="How long to wait for a running pod of an rc.")
def port_forward(resource: str, ports: tuple[str, ...], namespace: str | None,
                 addresses: tuple[str, ...], running_timeout: str) -> None:
    """Forward local ports to a pod (pod/NAME, NAME or rc/NAME), following the pod when its
    sandbox is recreated and, for an rc, moving to another running replica."""
    from podctl.ops.portforward import plan_forward
    from podctl.portforward.forward import PortForward, run_until_signalled

    wait = _running_timeout(running_timeout)
    what = plan_forward(namespace or "default", resource, ports, addresses, wait)
    forward = PortForward(what.follower, what.endpoint, what.pairs, what.addresses,
                          terminal.out, terminal.err)
    run_until_signalled(forward)


COMMANDS = [port_forward]
