"""Flags shared by several commands, spelled as kubectl spells them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from podctl.cli.completion import complete_namespaces

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_NAMESPACE = "default"


def namespace_option(fn: F) -> F:
    return click.option("-n", "--namespace", default=None, shell_complete=complete_namespaces,
                        help="Namespace to use (default: default).")(fn)


_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                 "h": 3600.0}


def pod_running_timeout_option(default: str) -> Callable[[F], F]:
    """kubectl's --pod-running-timeout: how long to wait for a pod of TYPE/NAME."""
    def wrap(fn: F) -> F:
        return click.option("--pod-running-timeout", "pod_running_timeout", default=default,
                            show_default=True,
                            help="How long to wait for a pod of TYPE/NAME to exist (a Go "
                                 "duration: 5s, 1m0s).")(fn)
    return wrap


def running_timeout(text: str) -> float:
    """Seconds in a Go duration such as `1m0s`, `90s` or `1.5h`, worded as kubectl's flag."""
    from podctl.errors import PodctlError

    parts = _DURATION_PART.findall(text)
    if text != "0" and (not parts or "".join(n + u for n, u in parts) != text):
        raise PodctlError(f'invalid argument "{text}" for "--pod-running-timeout" flag: '
                          f'time: invalid duration "{text}"')
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise PodctlError("--pod-running-timeout must be higher than zero")
    return seconds


def selector_option(fn: F) -> F:
    return click.option("-l", "--selector", default=None,
                        help="Label selector: k=v, k!=v, 'k in (a,b)', k, !k; comma = AND.")(fn)


def filename_option(required: bool = False) -> Callable[[F], F]:
    def wrap(fn: F) -> F:
        return click.option("-f", "--filename", "filenames", multiple=True, required=required,
                            help="File, folder or - (stdin) with manifests; repeatable.")(fn)
    return wrap


def validate_option(fn: F) -> F:
    """kubectl's --validate: how the server treats unknown fields (strict, warn, ignore)."""
    return click.option("--validate", "validate", default="strict", is_flag=False,
                        flag_value="strict", metavar="strict|warn|ignore",
                        help="Unknown fields: refuse (strict, true), drop with a warning "
                             "(warn) or drop silently (ignore, false).")(fn)


def field_validation(flag: str) -> str:
    """The fieldValidation a --validate value stands for (kubectl's error otherwise)."""
    from podctl.errors import PodctlError
    from podctl.manifest.check import VALIDATE_FLAG

    directive = VALIDATE_FLAG.get(flag.lower())
    if directive is None:
        raise PodctlError(f'invalid - validate option "{flag}"; must be one of: strict (or '
                          "true), warn, ignore (or false)")
    return directive
