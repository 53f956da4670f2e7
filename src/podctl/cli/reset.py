"""`podctl reset`: delete the home, everything it made on the engine first."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from podctl.cli import terminal

if TYPE_CHECKING:
    from podctl.ops.reset import Report


@click.command("reset")
def reset() -> None:
    """Delete this home (podctl's `kind delete cluster`): its controller, iptables rules,
    containers, volumes, networks, kubeconfig context and $PODCTL_HOME itself."""
    from podctl.home import home_id, podctl_home
    from podctl.ops.reset import reset as reset_home

    home = podctl_home(create=False)
    # As kind: no question asked, and deleting what is not there is no error.
    terminal.out(f'Deleting home "{home}" (id {home_id(home)}) ...')
    for line in report_lines(reset_home(home)):
        terminal.out(line)


def report_lines(report: Report) -> list[str]:
    """One line per kind of thing removed."""
    if report.nothing():
        return ["Nothing to delete: this home has nothing on the engine or on disk"]
    engine = report.engine
    lines = [f"Stopped controller (pid {pid})" for pid in report.controllers]
    if report.routes:
        lines.append(f"Deleted routes: {report.routes} of the pod network")
    if report.rule_lines:
        lines.append(f"Deleted iptables rules: {report.rule_lines} lines of "
                     f"PODCTL-{report.homeid}-*")
    if engine.containers:
        pods = f" of {len(engine.pods)} pods" if engine.pods else ""
        lines.append(f"Deleted containers: {len(engine.containers)}{pods}")
    if engine.volumes:
        lines.append(f"Deleted volumes: {json.dumps(engine.volumes)}")
    if engine.networks:
        lines.append(f"Deleted networks: {json.dumps(engine.networks)}")
    if report.pod_network:
        lines.append('Deleted network "podctl": no other home uses it')
    if report.kubeconfig is not None:
        lines.append(f'Deleted context "podctl" from {report.kubeconfig}')
    if report.home_removed and report.kept:
        lines.append(f"Deleted podctl's files from {report.home}; kept the others: "
                     f"{', '.join(report.kept)}")
    elif report.home_removed:
        lines.append(f"Deleted home: {report.home}")
    return lines


COMMANDS = [reset]
