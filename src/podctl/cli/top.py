"""`podctl top pod|node`: CPU and memory use of pods and nodes, as kubectl top prints it."""

from __future__ import annotations

import click

from podctl.cli import terminal
from podctl.cli.common import DEFAULT_NAMESPACE, namespace_option, selector_option


@click.group("top")
def top() -> None:
    """Display resource (CPU/memory) usage of pods or nodes (the controller samples them
    every --metric-resolution)."""


@click.command("pod")
@click.argument("name", required=False)
@namespace_option
@click.option("-A", "--all-namespaces", "all_namespaces", is_flag=True,
              help="List pods across all namespaces.")
@selector_option
@click.option("--containers", is_flag=True, help="Print usage of containers within a pod.")
@click.option("--no-headers", is_flag=True, help="Print output without headers.")
@click.option("--sort-by", default="", help="Sort by 'cpu' or 'memory'.")
@click.option("--sum", "total", is_flag=True, help="Print the sum of the resource usage.")
def top_pod(name: str | None, namespace: str | None, all_namespaces: bool,
            selector: str | None, containers: bool, no_headers: bool, sort_by: str,
            total: bool) -> None:
    """Display resource (CPU/memory) usage of pods."""
    from podctl.ops.top import check_options, pod_metrics
    from podctl.printers.top import top_pods

    check_options(name, selector, sort_by)
    scope = None if all_namespaces else (namespace or DEFAULT_NAMESPACE)
    items, empty = pod_metrics(scope, name, selector)
    if empty is not None:
        terminal.err(empty)
    terminal.out(top_pods(items, containers=containers, namespaces=all_namespaces,
                          headers=not no_headers, sort_by=sort_by, total=total), end="")


@click.command("node")
@click.argument("name", required=False)
@selector_option
@click.option("--no-headers", is_flag=True, help="Print output without headers.")
@click.option("--sort-by", default="", help="Sort by 'cpu' or 'memory'.")
@click.option("--show-capacity", is_flag=True,
              help="Print node resources based on Capacity instead of Allocatable.")
def top_node(name: str | None, selector: str | None, no_headers: bool, sort_by: str,
             show_capacity: bool) -> None:
    """Display resource (CPU/memory) usage of nodes."""
    from podctl.ops.top import check_options, node_metrics
    from podctl.printers.top import top_nodes

    check_options(name, selector, sort_by)
    items, available = node_metrics(name, selector, show_capacity)
    terminal.out(top_nodes(items, available, headers=not no_headers, sort_by=sort_by), end="")


# kubectl's aliases: pods, po; nodes, no.
for alias in ("pod", "pods", "po"):
    top.add_command(top_pod, alias)
for alias in ("node", "nodes", "no"):
    top.add_command(top_node, alias)

COMMANDS = [top]
