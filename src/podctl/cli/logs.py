"""`podctl logs` and `podctl exec`."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option
from podctl.cli.completion import complete_containers, complete_pods


def _pod_name(arg: str, namespace: str) -> str:
    """POD, pod/POD, or rc/NAME (one of its pods, as kubectl picks one)."""
    from podctl.ops.logs import pod_for

    name, found = pod_for(namespace, arg)
    if found > 1:
        terminal.err(f"Found {found} pods, using pod/{name}")
    return name


@click.command("logs")
@click.argument("pod", shell_complete=complete_pods)
@click.argument("container_arg", required=False, shell_complete=complete_containers)
@namespace_option
@click.option("-c", "--container", default=None, shell_complete=complete_containers,
              help="Container name.")
@click.option("-f", "--follow", is_flag=True, help="Stream the logs.")
@click.option("--tail", type=int, default=-1, help="Lines from the end (-1: all).")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its RFC3339 time.")
@click.option("-p", "--previous", is_flag=True, help="Logs of the previous, dead container.")
def logs(pod: str, container_arg: str | None, namespace: str | None, container: str | None,
         follow: bool, tail: int, timestamps: bool, previous: bool) -> None:
    """Print the logs of a container in a pod."""
    from podctl.ops.logs import resolve
    from podctl.runtime.streams import log_chunks

    ns = namespace or "default"
    target = resolve(ns, _pod_name(pod, ns), container or container_arg, previous)
    if target.defaulted_from:
        terminal.err(f'Defaulted container "{target.container}" out of: '
                     f"{', '.join(target.defaulted_from)}")
    terminal.copy_out(log_chunks(target.container_id, follow, tail, timestamps),
                      flush_each=follow)


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("pod", shell_complete=complete_pods)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@namespace_option
@click.option("-c", "--container", default=None, shell_complete=complete_containers,
              help="Container name.")
@click.option("-i", "--stdin", is_flag=True, help="Pass stdin to the command.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a terminal.")
def exec_(pod: str, command: tuple[str, ...], namespace: str | None, container: str | None,
          stdin: bool, tty: bool) -> None:
    """Run a command in a container: podctl exec POD [-c C] [-it] -- CMD..."""
    from podctl.ops.logs import exec_target
    from podctl.runtime.streams import exec_command, exec_interactive

    ns = namespace or "default"
    target = exec_target(ns, _pod_name(pod, ns), container)
    if target.defaulted_from:
        terminal.err(f'Defaulted container "{target.container}" out of: '
                     f"{', '.join(target.defaulted_from)}")
    if stdin or tty:
        code = exec_interactive(target.container_id, list(command), tty)
    else:
        code = exec_command(target.container_id, list(command), terminal.out_bytes,
                            terminal.err_bytes)
    if code != 0:
        terminal.err(f"command terminated with exit code {code}")
        sys.exit(code)


exec_.name = "exec"

COMMANDS = [logs, exec_]
