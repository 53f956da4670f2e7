"""Kubernetes resource quantities ("500m", "1Gi", "129e6") parsed exactly."""

from __future__ import annotations

import math
import re
from fractions import Fraction

QUANTITY_REGEX = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_NUMBER = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_EXPONENT = re.compile(r"^[eE]([+-]?\d+)$")


def parse_quantity(value: str | int | float) -> Fraction | None:
    """The exact value of a quantity, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(str(value)) if value == value and abs(value) != float("inf") else None
    if not isinstance(value, str):
        return None
    match = _NUMBER.match(value.strip() if value != value.strip() else value)
    if match is None or value != value.strip():
        return None
    sign, digits, suffix = match.groups()
    try:
        number = Fraction(digits)
    except (ValueError, ZeroDivisionError):
        return None
    if sign == "-":
        number = -number
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    exp = _EXPONENT.match(suffix)
    if exp is not None and abs(int(exp.group(1))) <= 30:
        return number * Fraction(10) ** int(exp.group(1))
    return None


def format_quantity(value: str | int | float) -> str:
    """The quantity as written (the way the user will recognise it)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value(value: str | int | float) -> Fraction:
    parsed = parse_quantity(value)
    if parsed is None:
        raise ValueError(f"quantities must match the regular expression '{QUANTITY_REGEX}'")
    return parsed


def millicores(value: str | int | float) -> int:
    """CPU in thousandths of a core, rounded up as the kubelet does."""
    return math.ceil(_value(value) * 1000)


def bytes_of(value: str | int | float) -> int:
    """Memory (or any count) in whole units, rounded up."""
    return math.ceil(_value(value))


def divide_up(value: str | int | float, divisor: str | int | float) -> int:
    """value / divisor rounded up: what resourceFieldRef env vars show."""
    return math.ceil(_value(value) / _value(divisor))
