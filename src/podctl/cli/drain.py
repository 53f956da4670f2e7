"""`podctl cordon|uncordon NODE` and `podctl drain NODE [flags]`, as kubectl's."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import F, selector_option
from podctl.cli.completion import complete_nodes


def _usage(command: str, nodes: tuple[str, ...], selector: str | None) -> None:
    from podctl.errors import PodctlError

    if not nodes and not selector:
        raise PodctlError(f"USAGE: {command} NODE [flags]\n"
                          f"See 'podctl {command} -h' for help and examples")
    if nodes and selector:
        raise PodctlError("cannot specify both a node name and a --selector option\n"
                          f"See 'podctl {command} -h' for help and examples")


def dry_run_option(fn: F) -> F:
    return click.option("--dry-run", "dry_run", default="none",
                        type=click.Choice(["none", "client", "server"]), is_flag=False,
                        flag_value="client",
                        help="client or server: print what would be done, change nothing.")(fn)


def _cordon(command: str, nodes: tuple[str, ...], selector: str | None, desired: bool,
            dry_run: str) -> None:
    from podctl.ops.drain import cordon, nodes_named
    from podctl.ops.followup import follow_up
    from podctl.ops.session import open_store
    from podctl.ops.views import user_selector

    _usage(command, nodes, selector)
    store = open_store()
    for node in nodes_named(store, list(nodes), user_selector(selector)):
        terminal.out(cordon(store, node, desired, dry_run))
        if dry_run == "none":
            follow_up(store, ("Node", "", node["metadata"]["name"]))  # pending pods again


@click.command("cordon")
@click.argument("nodes", nargs=-1, shell_complete=complete_nodes)
@selector_option
@dry_run_option
def cordon(nodes: tuple[str, ...], selector: str | None, dry_run: str) -> None:
    """Mark node as unschedulable."""
    _cordon("cordon", nodes, selector, True, dry_run)


@click.command("uncordon")
@click.argument("nodes", nargs=-1, shell_complete=complete_nodes)
@selector_option
@dry_run_option
def uncordon(nodes: tuple[str, ...], selector: str | None, dry_run: str) -> None:
    """Mark node as schedulable."""
    _cordon("uncordon", nodes, selector, False, dry_run)


@click.command("drain")
@click.argument("nodes", nargs=-1, shell_complete=complete_nodes)
@selector_option
@click.option("--force", is_flag=True,
              help="Continue even if there are pods that do not declare a controller.")
@click.option("--ignore-daemonsets", is_flag=True, help="Ignore DaemonSet-managed pods.")
@click.option("--delete-emptydir-data", is_flag=True,
              help="Continue even if there are pods using emptyDir (local data that will be "
                   "deleted when the node is drained).")
@click.option("--grace-period", type=int, default=-1,
              help="Seconds given to each pod to terminate gracefully; negative: the pod's "
                   "own.")
@click.option("--timeout", default="0s",
              help="How long to wait before giving up (a duration: 30s, 2m); 0: no limit.")
@click.option("--pod-selector", default="", help="Label selector to filter pods on the node.")
@click.option("--disable-eviction", is_flag=True,
              help="Delete the pods instead of evicting them (bypasses disruption budgets).")
@click.option("--skip-wait-for-delete-timeout", type=int, default=0,
              help="Do not wait for pods whose deletionTimestamp is older than this many "
                   "seconds (0: wait for all).")
@dry_run_option
def drain(nodes: tuple[str, ...], selector: str | None, force: bool,
          ignore_daemonsets: bool, delete_emptydir_data: bool, grace_period: int,
          timeout: str, pod_selector: str, disable_eviction: bool,
          skip_wait_for_delete_timeout: int, dry_run: str) -> None:
    """Drain node in preparation for maintenance: cordon it, then evict its pods (refusing
    bare pods without --force, DaemonSet pods without --ignore-daemonsets and pods with
    emptyDir data without --delete-emptydir-data)."""
    from podctl.api.duration import parse_duration
    from podctl.api.labels import SelectorError, parse_selector
    from podctl.errors import PodctlError
    from podctl.ops.drain import (
        ERR,
        DrainFlags,
        DrainRequest,
        NodeNotDrained,
        drain_nodes,
        finisher,
        nodes_named,
    )
    from podctl.ops.session import open_store
    from podctl.ops.views import user_selector

    _usage("drain", nodes, selector)
    try:
        seconds = parse_duration(timeout)
    except ValueError as exc:
        raise PodctlError(f'invalid argument "{timeout}" for "--timeout" flag: {exc}') \
            from exc
    try:
        pods = parse_selector(pod_selector) if pod_selector else None
    except SelectorError as exc:
        raise PodctlError("--pod-selector=<pod_selector> must be a valid label selector") \
            from exc
    request = DrainRequest(
        DrainFlags(force, ignore_daemonsets, delete_emptydir_data, skip_wait_for_delete_timeout),
        pods, grace_period, seconds, disable_eviction, dry_run)
    store = open_store()
    found = nodes_named(store, list(nodes), user_selector(selector))
    try:
        for stream, line in drain_nodes(store, found, request, finisher(store)):
            (terminal.err if stream == ERR else terminal.out)(line)
    except NodeNotDrained as failed:
        for error in failed.errors:
            terminal.err(f"error: {error}" if failed.plain else error)
        sys.exit(1)


COMMANDS = [cordon, uncordon, drain]
