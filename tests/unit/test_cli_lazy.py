"""The top-level group lists its commands from a table, without importing them: the table
must name every command there is, in the module that defines it, with the help it has."""

from __future__ import annotations

import pkgutil
from importlib import import_module

import click
import pytest

import podctl.cli
from podctl.cli.main import COMMAND_TABLE, cli


def defined_commands() -> dict[str, tuple[str, click.Command]]:
    found = {}
    for info in pkgutil.iter_modules(podctl.cli.__path__):
        if info.name == "__main__":  # runs the CLI when imported
            continue
        module = import_module(f"podctl.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            found[command.name] = (info.name, command)
    return found


def test_the_table_names_every_command_and_its_module() -> None:
    assert {name: module for name, (module, _) in defined_commands().items()} == {
        name: module for name, (module, _) in COMMAND_TABLE.items()}


@pytest.mark.parametrize("name", sorted(COMMAND_TABLE))
@pytest.mark.parametrize("width", [20, 45, 80, 400])
def test_the_listing_shows_each_command_s_own_short_help(name: str, width: int) -> None:
    command = defined_commands()[name][1]
    stand_in = click.Command(name, help=COMMAND_TABLE[name][1])
    assert stand_in.get_short_help_str(width) == command.get_short_help_str(width)
    assert not command.hidden and not command.deprecated


def test_a_command_is_found_by_name_and_an_unknown_one_is_not() -> None:
    with click.Context(cli) as ctx:
        assert cli.get_command(ctx, "get") is defined_commands()["get"][1]
        assert cli.get_command(ctx, "nope") is None
