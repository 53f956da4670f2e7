"""podctl's command line: kubectl's verbs and flags over a local Docker engine.

Commands import the core lazily so that `podctl --help` stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from podctl import __version__
from podctl.cli import terminal


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="podctl")
@click.option("-v", "--verbose", count=True, envvar="PODCTL_VERBOSE",
              help="Show tracebacks of internal errors (env PODCTL_VERBOSE).")
def cli(verbose: int) -> None:
    """podctl runs Kubernetes Pods, ReplicationControllers, ReplicaSets and Deployments on a
    local Docker engine, with kubectl's commands, flags and output."""


def _register() -> None:
    from podctl.cli import (
        apply,
        completion,
        controller,
        copy,
        create,
        delete,
        describe,
        explain,
        expose,
        get,
        label,
        logs,
        portforward,
        rollout,
        run,
        set_cmd,
        taint,
        version,
        wait,
    )

    for module in (create, apply, run, expose, get, describe, delete, logs, copy, label, wait,
                   rollout, set_cmd, taint, controller, portforward, explain, version, completion):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def _verbose() -> bool:
    return any(a in ("-v", "--verbose") or a.startswith("-vv") for a in sys.argv[1:3]) or bool(
        os.environ.get("PODCTL_VERBOSE")
    )


def main() -> None:
    """Entry point: user errors print one line and exit 1; tracebacks only with -v."""
    from podctl.errors import PodctlError

    try:
        cli.main(prog_name="podctl", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PodctlError as exc:
        if _verbose():
            terminal.err(traceback.format_exc().rstrip("\n"))
        terminal.err(exc.render())
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        from podctl.manifest import ManifestError

        if isinstance(exc, ManifestError):
            terminal.err(f"error: {exc}")
            sys.exit(1)
        if _verbose():
            terminal.err(traceback.format_exc().rstrip("\n"))
        else:
            terminal.err(f"error: internal error: {type(exc).__name__}: {exc} "
                         "(run with -v for the traceback)")
        sys.exit(1)
