"""`podctl logs`, `podctl exec` and `podctl attach`: POD, pod/NAME or TYPE/NAME of any
workload (deploy, rs, rc, sts, ds, job, svc), a pod picked as kubectl picks it."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option, pod_running_timeout_option, running_timeout
from podctl.cli.completion import complete_containers, complete_pods


@click.command("logs")
@click.argument("pod", metavar="(POD | TYPE/NAME)", shell_complete=complete_pods)
@click.argument("container_arg", required=False, shell_complete=complete_containers)
@namespace_option
@click.option("-c", "--container", default=None, shell_complete=complete_containers,
              help="Container name.")
@click.option("-f", "--follow", is_flag=True, help="Stream the logs.")
@click.option("--tail", type=int, default=-1, help="Lines from the end (-1: all).")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its RFC3339 time.")
@click.option("-p", "--previous", is_flag=True, help="Logs of the previous, dead container.")
@pod_running_timeout_option("20s")
def logs(pod: str, container_arg: str | None, namespace: str | None, container: str | None,
         follow: bool, tail: int, timestamps: bool, previous: bool,
         pod_running_timeout: str) -> None:
    """Print the logs of a container in a pod."""
    from podctl.api import meta
    from podctl.ops.logs import pod_for_logs, resolve
    from podctl.runtime import engines
    from podctl.runtime.streams import LogStream

    ns = namespace or "default"
    picked = pod_for_logs(ns, pod, running_timeout(pod_running_timeout))
    name = meta.name_of(picked.pod)
    if picked.count > 1:
        terminal.err(f"Found {picked.count} pods, using pod/{name}")
    target = resolve(ns, name, container or container_arg, previous)
    if target.defaulted_from:
        terminal.err(f'Defaulted container "{target.container}" out of: '
                     f"{', '.join(target.defaulted_from)}")
    with engines.using(target.engine):
        stream = LogStream(target.container_id, follow, tail, timestamps)
    terminal.copy_out(stream, flush_each=follow)


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("pod", metavar="(POD | TYPE/NAME)", shell_complete=complete_pods)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@namespace_option
@click.option("-c", "--container", default=None, shell_complete=complete_containers,
              help="Container name.")
@click.option("-i", "--stdin", is_flag=True, help="Pass stdin to the command.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a terminal.")
@pod_running_timeout_option("1m0s")
def exec_(pod: str, command: tuple[str, ...], namespace: str | None, container: str | None,
          stdin: bool, tty: bool, pod_running_timeout: str) -> None:
    """Run a command in a container: podctl exec (POD | TYPE/NAME) [-c C] [-it] -- CMD..."""
    from podctl.api import meta
    from podctl.ops.logs import exec_target, pod_to_attach
    from podctl.runtime import engines
    from podctl.runtime.streams import exec_command, exec_interactive

    ns = namespace or "default"
    picked = pod_to_attach(ns, pod, running_timeout(pod_running_timeout))
    target = exec_target(ns, meta.name_of(picked.pod), container)
    if target.defaulted_from:
        terminal.err(f'Defaulted container "{target.container}" out of: '
                     f"{', '.join(target.defaulted_from)}")
    with engines.using(target.engine):
        if stdin or tty:
            code = exec_interactive(target.container_id, list(command), tty)
        else:
            code = exec_command(target.container_id, list(command), terminal.out_bytes,
                                terminal.err_bytes)
    if code != 0:
        terminal.err(f"command terminated with exit code {code}")
        sys.exit(code)


exec_.name = "exec"


@click.command("attach")
@click.argument("resources", nargs=-1, metavar="(POD | TYPE/NAME)",
                shell_complete=complete_pods)
@namespace_option
@click.option("-c", "--container", default=None, shell_complete=complete_containers,
              help="Container name (default: the pod's default container).")
@click.option("-i", "--stdin", is_flag=True, help="Pass stdin to the container.")
@click.option("-t", "--tty", is_flag=True, help="Stdin is a TTY.")
@click.option("-q", "--quiet", is_flag=True, help="Only print output from the remote session.")
@pod_running_timeout_option("1m0s")
def attach(resources: tuple[str, ...], namespace: str | None, container: str | None,
           stdin: bool, tty: bool, quiet: bool, pod_running_timeout: str) -> None:
    """Attach to a process that is already running inside an existing container."""
    from podctl.api import meta
    from podctl.errors import PodctlError
    from podctl.ops.logs import attach_target, pod_to_attach
    from podctl.runtime import engines
    from podctl.runtime.streams import attach as attach_stream

    if not resources:
        raise PodctlError("at least 1 argument is required for attach")
    if len(resources) > 2:
        raise PodctlError("expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) "
                          f"saw {len(resources)}: [{' '.join(resources)}]")
    wait = running_timeout(pod_running_timeout)
    ns = namespace or "default"
    picked = pod_to_attach(ns, "/".join(resources), wait)
    target = attach_target(picked.pod, container)
    if target.defaulted_from and not quiet:
        terminal.err(f'Defaulted container "{target.container}" out of: '
                     f"{', '.join(target.defaulted_from)}")
    spec = next(c for c in picked.pod["spec"]["containers"] if c["name"] == target.container)
    if tty and not spec.get("tty"):
        tty = False
        if not quiet:
            terminal.err(f"error: Unable to use a TTY - container {target.container} did not "
                         "allocate one")
    elif spec.get("tty"):
        tty = True  # the container has one: its output only makes sense as a terminal's
    raw = tty and stdin and terminal.stdin_is_terminal()
    if not quiet:
        terminal.err("All commands and output from this session will be recorded in "
                     "container logs, including credentials and sensitive information "
                     "passed through the command prompt.")
        terminal.err("If you don't see a command prompt, try pressing enter.")
    with terminal.raw_stdin(raw), engines.using(target.engine):
        attach_stream(target.container_id, sys.stdin.fileno() if stdin else None, tty,
                      terminal.out_bytes, terminal.err_bytes,
                      terminal.terminal_size() if raw else None)
    if raw and not quiet:
        terminal.out(f"Session ended, resume using 'podctl attach {meta.name_of(picked.pod)} "
                     f"-c {target.container} -n {ns} -i -t' command")


COMMANDS = [logs, exec_, attach]
