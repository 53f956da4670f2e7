"""`podctl expose`: a Service for a pod, replication controller or Service."""

from __future__ import annotations

import sys

import click

from podctl.cli import terminal
from podctl.cli.common import namespace_option
from podctl.cli.completion import complete_resources


@click.command("expose")
@click.argument("args", nargs=-1, shell_complete=complete_resources)
@click.option("--port", default=None, help="The port the Service serves on.")
@click.option("--target-port", default=None, help="Container port number or name.")
@click.option("--name", default=None, help="The Service's name (default: the object's).")
@click.option("--type", "service_type", default=None,
              help="ClusterIP, NodePort, LoadBalancer or ExternalName.")
@click.option("--protocol", default=None, help="TCP, UDP or SCTP.")
@click.option("--selector", default=None, help="k=v,k2=v2 (default: the object's).")
@click.option("-l", "--labels", default=None, help="The Service's labels, k=v,k2=v2.")
@click.option("--session-affinity", default=None, help="None or ClientIP.")
@click.option("--cluster-ip", default=None, help="An IP from the range, or None (headless).")
@click.option("--external-ip", default=None, help="External IPs, comma-separated.")
@click.option("--dry-run", "dry_run", default="none", is_flag=False, flag_value="client",
              type=click.Choice(["none", "client", "server"]))
@click.option("-o", "--output", default=None, help="yaml|json: print the Service.")
@namespace_option
def expose(args: tuple[str, ...], port: str | None, target_port: str | None,
           name: str | None, service_type: str | None, protocol: str | None,
           selector: str | None, labels: str | None, session_affinity: str | None,
           cluster_ip: str | None, external_ip: str | None, dry_run: str,
           output: str | None, namespace: str | None) -> None:
    """Expose a pod, rc or service as a new Service: podctl expose TYPE NAME --port=80."""
    from podctl.cli.resourceargs import split_resource_args
    from podctl.errors import PodctlError
    from podctl.manifest import Document, check_document, invalid_summary
    from podctl.ops.expose import ExposeRequest, service_manifest
    from podctl.ops.session import open_store

    targets = split_resource_args(args)
    if len(targets) != 1 or len(targets[0][1]) != 1:
        raise PodctlError("expose requires exactly one TYPE NAME or TYPE/NAME argument")
    kind, names = targets[0]
    store = open_store()
    source = store.require(kind, namespace or "default", names[0])
    request = ExposeRequest(name, port, target_port, protocol, service_type, selector, labels,
                            session_affinity, cluster_ip, external_ip)
    manifest = service_manifest(source, request)
    checked = check_document(Document("expose", 0, manifest, None), namespace)
    if checked.problems or checked.obj is None:
        terminal.err(invalid_summary("Service", manifest["metadata"]["name"],
                                     checked.problems))
        sys.exit(1)
    if output:
        from datetime import UTC, datetime

        from podctl.printers.output import render

        terminal.out(render([checked.obj], output, single=True, now=datetime.now(UTC)), end="")
        if dry_run != "none":
            return
    service_name = checked.obj["metadata"]["name"]
    if dry_run != "none":
        terminal.out(f"service/{service_name} exposed (dry run)")
        return
    from podctl.cli.create import warn_deferred
    from podctl.ops.create import create_object
    from podctl.ops.deferred import DockerWork

    docker = DockerWork()
    create_object(store, checked.obj, docker)
    terminal.out(f"service/{service_name} exposed")
    warn_deferred(docker, [checked.obj])


COMMANDS = [expose]
