"""Constructors for apimachinery-style field errors ('<path>: Invalid value: <v>: <detail>')."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from podctl.manifest.problems import FieldPath, format_path, render_value
from podctl.manifest.schema import FieldError


def invalid(path: FieldPath, value: Any, detail: str) -> FieldError:
    """field.Invalid."""
    return FieldError(
        path, f"{format_path(path)}: Invalid value: {render_value(value, 200)}: {detail}"
    )


def required(path: FieldPath, detail: str = "") -> FieldError:
    """field.Required."""
    return FieldError(
        path, f"{format_path(path)}: Required value" + (f": {detail}" if detail else "")
    )


def unsupported(path: FieldPath, value: Any, supported: Iterable[str]) -> FieldError:
    """field.NotSupported."""
    values = ", ".join(f'"{v}"' for v in supported)
    return FieldError(
        path,
        f"{format_path(path)}: Unsupported value: {render_value(value)}: "
        f"supported values: {values}",
    )


def duplicate(path: FieldPath, value: Any) -> FieldError:
    """field.Duplicate."""
    return FieldError(path, f"{format_path(path)}: Duplicate value: {render_value(value)}")


def forbidden(path: FieldPath, detail: str) -> FieldError:
    """field.Forbidden."""
    return FieldError(path, f"{format_path(path)}: Forbidden: {detail}")


def not_found(path: FieldPath, value: Any) -> FieldError:
    """field.NotFound."""
    return FieldError(path, f"{format_path(path)}: Not found: {render_value(value)}")


def too_long(path: FieldPath, limit: int) -> FieldError:
    """field.TooLong (bytes)."""
    return FieldError(path, f"{format_path(path)}: Too long: may not be more than {limit} bytes")
