"""apimachinery's name rules (DNS-1123, label keys/values, port and env names), its wording."""

from __future__ import annotations

import re

from podctl.api.labels import validate_label_key, validate_label_value

DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + r"(\." + DNS1123_LABEL + ")*"
DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"

_LABEL_RE = re.compile(f"^{DNS1123_LABEL}$")
_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN}$")
_DNS1035_RE = re.compile(f"^{DNS1035_LABEL}$")
_PORT_NAME_CHARS = re.compile("^[-a-z0-9]+$")
_HAS_LETTER = re.compile("[a-z]")


def _too_long(limit: int) -> str:
    return f"must be no more than {limit} characters"


def dns1123_label(value: str) -> list[str]:
    """Details for a name that must be an RFC 1123 label (namespaces, containers, volumes)."""
    errs: list[str] = []
    if len(value) > 63:
        errs.append(_too_long(63))
    if not _LABEL_RE.match(value):
        errs.append(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
            "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
            f"regex used for validation is '{DNS1123_LABEL}')"
        )
    return errs


def dns1035_label(value: str) -> list[str]:
    """Details for a name that must be an RFC 1035 label (Services: it becomes a DNS name)."""
    errs: list[str] = []
    if len(value) > 63:
        errs.append(_too_long(63))
    if not _DNS1035_RE.match(value):
        errs.append(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character "
            f"(e.g. 'my-name',  or 'abc-123', regex used for validation is '{DNS1035_LABEL}')"
        )
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    """Details for a name that must be an RFC 1123 subdomain (pods, RCs)."""
    errs: list[str] = []
    if len(value) > 253:
        errs.append(_too_long(253))
    if not _SUBDOMAIN_RE.match(value):
        errs.append(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'example.com', "
            f"regex used for validation is '{DNS1123_SUBDOMAIN}')"
        )
    return errs


def qualified_name(value: str) -> list[str]:
    """Details for a label/annotation key (podctl.api.labels owns the rule)."""
    return validate_label_key(value)


def label_value(value: str) -> list[str]:
    """Details for a label value (podctl.api.labels owns the rule)."""
    return validate_label_value(value)


def port_name(value: str) -> list[str]:
    """Details for an IANA service name (container port names)."""
    errs: list[str] = []
    if len(value) > 15:
        errs.append(_too_long(15))
    if not _PORT_NAME_CHARS.match(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value and not _HAS_LETTER.search(value):
        errs.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def env_var_name(value: str) -> list[str]:
    """Details for an environment variable name (printable ASCII except '=', Kubernetes ≥ 1.34)."""
    if value and all(" " <= ch <= "~" for ch in value) and "=" not in value:
        return []
    return [
        "a valid environment variable name must consist only of printable ASCII characters "
        "other than '='"
    ]
