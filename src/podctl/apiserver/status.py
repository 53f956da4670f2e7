"""metav1.Status bodies: what kubectl reads its error lines from."""

from __future__ import annotations

import re

from podctl.api.meta import Obj
from podctl.errors import (
    AlreadyExists,
    Conflict,
    Invalid,
    NamespaceTerminating,
    NotFound,
    PodctlError,
    ServerError,
    TooManyRequests,
)

_INVALID = re.compile(r'The (\S+) "([^"]*)" is invalid: (.*)', re.DOTALL)

CODES = {"NotFound": 404, "AlreadyExists": 409, "Conflict": 409, "Invalid": 422,
         "BadRequest": 400, "Forbidden": 403, "Unauthorized": 401, "MethodNotAllowed": 405,
         "Gone": 410, "Expired": 410, "NotAcceptable": 406, "UnsupportedMediaType": 415,
         "RequestEntityTooLarge": 413, "Timeout": 504, "InternalError": 500, "TooManyRequests": 429,
         "ServiceUnavailable": 503}


class ApiError(Exception):
    """A request the API refuses, carried to the router as its Status."""

    def __init__(self, reason: str, message: str, details: Obj | None = None,
                 metadata: Obj | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details
        self.metadata = metadata or {}

    @property
    def code(self) -> int:
        return CODES.get(self.reason, 500)

    def status(self) -> Obj:
        body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": dict(self.metadata),
                     "status": "Failure", "message": self.message, "reason": self.reason,
                     "code": self.code}
        if not self.reason:
            del body["reason"]
        if self.details is not None:
            body["details"] = self.details
        return body

    def headers(self) -> dict[str, str]:
        """Retry-After, where the Status asks the client to wait (client-go honours it)."""
        after = (self.details or {}).get("retryAfterSeconds")
        return {"Retry-After": str(after)} if after else {}


def invalid(kind: str, name: str, causes: list[tuple[str, str]],
            group: str = "") -> ApiError:
    """422 Invalid with one cause per field error (field, message without the field):
    kubectl rebuilds `The Pod "x" is invalid: <field>: <message>` from them."""
    shown = [f"{field}: {message}" if field else message for field, message in causes]
    qualified = f"{kind}.{group}" if group else kind
    message = f'{qualified} "{name}" is invalid: ' + (
        shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]")
    details: Obj = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    details["causes"] = [{"reason": "FieldValueInvalid", "message": m, "field": f}
                         for f, m in causes]
    return ApiError("Invalid", message, details)


def from_error(exc: PodctlError, group: str = "") -> ApiError:
    """The Status a podctl error stands for, with the details kubectl uses."""
    if isinstance(exc, NotFound | AlreadyExists):
        resource, _, _ = exc.resource.partition(".")
        details: Obj = {"name": exc.name, "kind": resource}
        if group:
            details["group"] = group
        return ApiError(exc.reason, f'{exc.resource} "{exc.name}" '
                        + ("not found" if isinstance(exc, NotFound) else "already exists"),
                        details)
    if isinstance(exc, NamespaceTerminating):
        resource, _, _ = exc.resource.partition(".")
        terminating: Obj = {"name": exc.name, "kind": resource}
        if group:
            terminating["group"] = group
        terminating["causes"] = [{"reason": "NamespaceTerminating",
                                  "message": f"namespace {exc.namespace} is being terminated",
                                  "field": "metadata.namespace"}]
        return ApiError("Forbidden", str(exc), terminating)
    if isinstance(exc, Conflict):
        return ApiError("Conflict", str(exc))
    if isinstance(exc, TooManyRequests):
        budget: Obj = {"causes": [{"reason": "DisruptionBudget", "message": exc.cause}]}
        if exc.retry_after:
            budget["retryAfterSeconds"] = exc.retry_after
        return ApiError("TooManyRequests", str(exc), budget)
    if isinstance(exc, Invalid):
        return _invalid_status(exc, group)
    if isinstance(exc, ServerError):
        return ApiError(exc.reason, str(exc))
    return ApiError("BadRequest", str(exc))


def _invalid_status(exc: Invalid, group: str) -> ApiError:
    """podctl's `The Pod "x" is invalid: <causes>` as the API's Invalid Status."""
    from podctl.registry import field_cause

    if exc.causes is not None:
        return invalid(exc.kind, exc.name, exc.causes, group)
    found = _INVALID.fullmatch(str(exc))
    if found is None:
        return ApiError("BadRequest", str(exc))
    kind, name, rest = found.groups()
    lines = rest[3:].split("\n* ") if rest.startswith("\n* ") else [rest]
    return invalid(kind, name, [field_cause(line) for line in lines], group)


def success(kind: str, name: str, uid: str, group: str = "") -> Obj:
    """What DELETE answers when the object is gone at once."""
    details: Obj = {"name": name, "kind": kind, "uid": uid}
    if group:
        details["group"] = group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}
