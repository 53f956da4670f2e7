"""The API server's validation of ServiceAccounts (ValidateServiceAccount)."""

from __future__ import annotations

from typing import Any

from podctl.manifest import names
from podctl.manifest.fielderr import required
from podctl.manifest.rules import Errors, _d, validate_metadata


def validate_service_account(obj: dict[str, Any]) -> Errors:
    """A DNS subdomain name; every secret and image pull secret reference names one."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    for field in ("secrets", "imagePullSecrets"):
        refs = obj.get(field)
        for i, ref in enumerate(refs if isinstance(refs, list) else []):
            if not _d(ref).get("name") and field == "imagePullSecrets":
                errs.append(required((field, i, "name")))
    return errs
