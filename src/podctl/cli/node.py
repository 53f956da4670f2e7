"""`podctl node add|stop|start|delete|load-image`: several nodes on one machine, each a
container running its own Docker engine (kind's design, minikube's verbs)."""

from __future__ import annotations

import click

from podctl.cli import terminal
from podctl.cli.completion import complete_nodes


@click.group("node")
def node() -> None:
    """Add, stop, start and delete nodes (containers running their own Docker engine), and
    load images into them."""


@node.command("add")
@click.argument("name")
@click.option("--label", "labels", multiple=True, metavar="K=V",
              help="A label of the new Node (repeatable).")
@click.option("--taint", "taints", multiple=True, metavar="K=V:EFFECT",
              help="A taint of the new Node (repeatable).")
def add(name: str, labels: tuple[str, ...], taints: tuple[str, ...]) -> None:
    """Add a node: a container running its own Docker engine, registered as a Node."""
    from podctl.ops.followup import follow_up
    from podctl.ops.nodes import add_node
    from podctl.ops.session import open_store

    store = open_store()
    add_node(store, name, list(labels), list(taints))
    terminal.out(f"node/{name} created")
    follow_up(store, ("Node", "", name))  # DaemonSets and pending pods judge it


@node.command("stop")
@click.argument("name", shell_complete=complete_nodes)
def stop(name: str) -> None:
    """Stop a node as a crash would: its engine and pods go at once, nothing is deleted."""
    from podctl.ops.nodes import stop_node
    from podctl.ops.session import open_store

    stop_node(open_store(), name)
    terminal.out(f"node/{name} stopped")


@node.command("start")
@click.argument("name", shell_complete=complete_nodes)
def start(name: str) -> None:
    """Start a stopped node again; its kubelet restarts its pods."""
    from podctl.ops.followup import follow_up
    from podctl.ops.nodes import pods_on, start_node
    from podctl.ops.session import open_store

    store = open_store()
    start_node(store, name)
    terminal.out(f"node/{name} started")
    follow_up(store, *pods_on(store, name))


@node.command("delete")
@click.argument("name", shell_complete=complete_nodes)
def delete(name: str) -> None:
    """Delete a node: its container, its engine's data and the pods bound to it."""
    from podctl.ops.followup import follow_up
    from podctl.ops.nodes import delete_node
    from podctl.ops.session import open_store

    store = open_store()
    wake = delete_node(store, name)
    terminal.out(f'node "{name}" deleted')
    follow_up(store, *wake)


@node.command("load-image")
@click.argument("images", nargs=-1, required=True)
@click.option("--nodes", "nodes", default="", metavar="N1,N2",
              help="Only these nodes (default: every node container).")
def load_image(images: tuple[str, ...], nodes: str) -> None:
    """Copy images of the host's engine into the node containers, as `kind load
    docker-image` does."""
    from podctl.ops.nodes import load_image as load
    from podctl.ops.session import open_store

    store = open_store()
    names = [n for n in nodes.split(",") if n]
    for image in images:
        for done in load(store, image, names):
            if done.copied:
                terminal.out(f'Image: "{image}" with ID "{done.image_id}" not yet present on '
                             f'node "{done.node}", loading...')
            else:
                terminal.out(f'Image: "{image}" with ID "{done.image_id}" found to be already '
                             f'present on node "{done.node}"')


COMMANDS = [node]
