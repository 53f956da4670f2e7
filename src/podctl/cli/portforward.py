"""`podctl port-forward`: local ports relayed to a pod, following it by name."""

from __future__ import annotations

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option, pod_running_timeout_option, running_timeout
from podctl.cli.completion import complete_pods


@click.command("port-forward")
@click.argument("resource", metavar="TYPE/NAME", shell_complete=complete_pods)
@click.argument("ports", nargs=-1, metavar="[LOCAL_PORT:]REMOTE_PORT...")
@namespace_option
@click.option("--address", "addresses", multiple=True, default=("localhost",),
              show_default=True,
              help="Addresses to listen on (comma-separated, repeatable): IPs or localhost "
                   "(127.0.0.1 and ::1).")
@pod_running_timeout_option("1m0s")
def port_forward(resource: str, ports: tuple[str, ...], namespace: str | None,
                 addresses: tuple[str, ...], pod_running_timeout: str) -> None:
    """Forward local ports to a pod (NAME, pod/NAME or TYPE/NAME of a workload or Service),
    following the pod when its sandbox is recreated and, for a workload, moving to another
    running pod."""
    from podctl.ops.portforward import plan_forward
    from podctl.portforward.forward import PortForward, run_until_signalled

    wait = running_timeout(pod_running_timeout)
    what = plan_forward(namespace or "default", resource, ports, addresses, wait)
    forward = PortForward(what.follower, what.endpoint, what.pairs, what.addresses,
                          terminal.out, terminal.err)
    run_until_signalled(forward)


COMMANDS = [port_forward]
