"""`podctl autoscale`: kubectl autoscale's flags and output."""

from __future__ import annotations

import click

from podctl.cli import terminal
from podctl.cli.common import DEFAULT_NAMESPACE, namespace_option


@click.command("autoscale")
@click.argument("args", nargs=-1, required=True)
@namespace_option
@click.option("--min", "low", type=int, default=-1,
              help="The lower limit for the number of pods (the server's default when unset).")
@click.option("--max", "high", type=int, default=None,
              help="The upper limit for the number of pods. Required.")
@click.option("--cpu-percent", type=int, default=-1,
              help="The target average CPU utilization (a percent of requested CPU).")
@click.option("--cpu", default="", help="Target CPU: `70%` of the request, or a quantity "
              "(`500m`; a bare number is in millicores) as an average value.")
@click.option("--memory", default="", help="Target memory: `60%` of the request, or a "
              "quantity (`200Mi`; a bare number is in MiB) as an average value.")
@click.option("--name", "hpa_name", default="",
              help="The autoscaler's name (the target's when unset).")
def autoscale(args: tuple[str, ...], namespace: str | None, low: int, high: int | None,
              cpu_percent: int, cpu: str, memory: str, hpa_name: str) -> None:
    """Auto-scale a deployment, replica set, stateful set, or replication controller:
    podctl autoscale deploy NAME --min=2 --max=10 --cpu-percent=80."""
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError
    from podctl.ops import autoscale as ops
    from podctl.ops.session import open_store

    if high is None:
        raise PodctlError('required flag(s) "max" not set')
    ops.check(low, high, cpu_percent, cpu, memory)
    store = open_store()
    for kind, names in split_resource_args(args):
        for name in names:
            terminal.out(ops.autoscale(store, kind, namespace or DEFAULT_NAMESPACE, name,
                                       low=low, high=high, cpu_percent=cpu_percent, cpu=cpu,
                                       memory=memory, hpa_name=hpa_name))


COMMANDS = [autoscale]
