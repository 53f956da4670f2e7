"""`podctl wait --for=condition=Ready pod/NAME`."""

from __future__ import annotations

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option, selector_option
from podctl.cli.completion import complete_resources
from podctl.cli.resourceargs import split_resource_args


def _seconds(text: str) -> float:
    """kubectl durations: 30s, 2m, 1h, or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


@click.command("wait")
@click.argument("args", nargs=-1, required=True, shell_complete=complete_resources)
@namespace_option
@selector_option
@click.option("--all", "all_", is_flag=True, help="Every object of the type.")
@click.option("--for", "for_", required=True,
              help="condition=Ready, delete, or jsonpath='{.status.phase}'=Running.")
@click.option("--timeout", default="30s", show_default=True, help="30s, 5m, 1h...")
def wait(args: tuple[str, ...], namespace: str | None, selector: str | None, all_: bool,
         for_: str, timeout: str) -> None:
    """Wait until pods or RCs meet a condition, or are deleted."""
    from podctl.errors import PodctlError
    from podctl.ops.get import GetRequest
    from podctl.ops.session import open_store
    from podctl.ops.wait import parse_for, wait_for

    targets = split_resource_args(args)
    if not any(names for _, names in targets) and not (selector or all_):
        raise PodctlError("resource(s) were provided, but no name was specified")
    request = GetRequest(targets=targets, namespace=namespace or "default", selector=selector)
    for line in wait_for(open_store(), request, parse_for(for_), _seconds(timeout)):
        terminal.out(line)


COMMANDS = [wait]
