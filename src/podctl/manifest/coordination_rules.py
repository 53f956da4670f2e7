"""The API server's rules for coordination.k8s.io/v1 Leases (K pkg/apis/coordination/
validation ValidateLease), now that users (leader election) write them: a positive lease
duration, non-negative transitions, a known or qualified strategy, a preferred holder only
with a strategy."""

from __future__ import annotations

from typing import Any

from podctl.manifest import names
from podctl.manifest.apps_rules import _d
from podctl.manifest.fielderr import forbidden, invalid, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import Errors, _int, validate_metadata

LEASE_STRATEGIES = ("OldestEmulationVersion",)


def validate_lease(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    duration = _int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        errs.append(invalid((*path, "leaseDurationSeconds"), duration, "must be greater than 0"))
    transitions = _int(spec.get("leaseTransitions"))
    if transitions is not None and transitions < 0:
        errs.append(invalid((*path, "leaseTransitions"), transitions,
                            "must be greater than or equal to 0"))
    strategy = spec.get("strategy")
    if isinstance(strategy, str):
        # Upstream names the field twice here (its helper adds the child again).
        where: FieldPath = (*path, "strategy", "strategy")
        if "/" not in strategy:
            if strategy not in LEASE_STRATEGIES:
                errs.append(unsupported(where, strategy, LEASE_STRATEGIES))
        else:
            errs.extend(invalid(where, strategy, detail)
                        for detail in names.qualified_name(strategy))
    if spec.get("preferredHolder") and not strategy:
        errs.append(forbidden((*path, "preferredHolder"),
                              "may only be specified if `strategy` is defined"))
    return errs
