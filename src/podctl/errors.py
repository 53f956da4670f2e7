"""User-facing errors: each renders as the one line kubectl would print."""

from __future__ import annotations


class PodctlError(Exception):
    """An error the user can cause or fix; printed as one line, exit code 1."""

    exit_code = 1

    def render(self) -> str:
        return f"error: {self}"


class ServerError(PodctlError):
    """An error kubectl would report as coming from the API server."""

    reason = "BadRequest"

    def render(self) -> str:
        return f"Error from server ({self.reason}): {self}"


class NotFound(ServerError):
    reason = "NotFound"

    def __init__(self, resource: str, name: str, context: str = "") -> None:
        super().__init__(f'{context}{resource} "{name}" not found')
        self.resource = resource
        self.name = name


class AlreadyExists(ServerError):
    reason = "AlreadyExists"

    def __init__(self, resource: str, name: str, context: str = "") -> None:
        super().__init__(f'{context}{resource} "{name}" already exists')
        self.resource = resource
        self.name = name


class Forbidden(ServerError):
    reason = "Forbidden"


class NamespaceTerminating(Forbidden):
    """A create in a namespace being deleted (NamespaceLifecycle's refusal); its Status
    carries upstream's NamespaceTerminating cause, which kubectl drain looks for."""

    def __init__(self, resource: str, name: str, namespace: str) -> None:
        super().__init__(f'{resource} "{name}" is forbidden: unable to create new content in '
                         f"namespace {namespace} because it is being terminated")
        self.resource = resource
        self.name = name
        self.namespace = namespace


class BadRequest(ServerError):
    reason = "BadRequest"


class TooManyRequests(ServerError):
    """429: an eviction a disruption budget does not allow now; `cause` says which budget
    and why (kubectl drain prints the message and tries again)."""

    reason = "TooManyRequests"

    def __init__(self, message: str, cause: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.cause = cause
        self.retry_after = retry_after


class UnreasonedFailure(ServerError):
    """A failure Status the API server answers with no reason (code 500): kubectl prints
    `Error from server: <message>`."""

    reason = ""

    def render(self) -> str:
        return f"Error from server: {self}"


class Precondition(ServerError):
    """A write's precondition (the uid or resourceVersion it names) does not hold."""

    reason = "Conflict"


class Invalid(PodctlError):
    """An object the API server would reject (`The Pod "x" is invalid: ...`); `causes`, when
    known, are its field errors as (field, message without the field)."""

    def __init__(self, message: str, kind: str = "", name: str = "",
                 causes: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.causes = causes

    def render(self) -> str:
        return str(self)


class DockerUnavailable(PodctlError):
    """The Docker engine does not answer."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            "cannot reach the Docker engine "
            f"({detail}); start it with `sudo dockerd &` or `make docker` "
            "(scripts/ensure-docker.sh), or point DOCKER_HOST at a running engine"
        )


class NodeUnavailable(DockerUnavailable):
    """A node container's engine does not answer (the node is stopped): only its pods wait."""

    def __init__(self, node: str, detail: str) -> None:
        super().__init__(detail)
        self.node = node
        self.args = (f'node "{node}" does not answer ({detail}); start it with '
                     f"`podctl node start {node}`",)


class Conflict(ServerError):
    """The object changed since it was read (optimistic concurrency)."""

    reason = "Conflict"

    def __init__(self, resource: str, name: str, detail: str = "") -> None:
        super().__init__(
            f'Operation cannot be fulfilled on {resource} "{name}": ' + (detail or (
                "the object has been modified; please apply your changes to the latest "
                "version and try again"))
        )
