"""What a request is, as the API server's filters see it before any handler runs: its verb
(as metrics name it), resource, scope, whether it mutates and whether it is long-running.
Pure functions of the method, path, query and content type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from podctl.apiserver import patch as patches
from podctl.apiserver.params import go_bool
from podctl.apiserver.resources import SUBRESOURCES
from podctl.apiserver.routes import parse_call

# The upstream long-running check: watches and proxies, and these subresources, hold their
# connection for as long as the client wants; the in-flight limit and the request timeout
# leave them alone (they have a bound of their own).
LONG_RUNNING_SUBRESOURCES = frozenset({"attach", "exec", "proxy", "log", "portforward"})
CONNECT_SUBRESOURCES = frozenset({"attach", "exec", "proxy", "portforward"})
READ_VERBS = frozenset({"GET", "LIST", "WATCH"})
# Paths outside the resource tree that metrics name (any other one is "", so a client
# cannot make up label values).
NAMED_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/metrics", "/version", "/api",
                         "/apis", "/openapi/v2", "/openapi/v3"})
# Health probes pass the in-flight limit, as upstream's "probes" flow schema exempts them:
# a busy server must still tell that it is alive.
PROBE_PATHS = frozenset({"/healthz", "/livez", "/readyz"})


@dataclass(frozen=True)
class RequestInfo:
    verb: str  # GET LIST WATCH POST PUT PATCH APPLY DELETE DELETECOLLECTION CONNECT other
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    scope: str = ""  # namespace, resource, cluster; "" outside the resource tree
    long_running: bool = False
    dry_run: str = ""  # "All" for a dry run
    probe: bool = False

    @property
    def mutating(self) -> bool:
        return self.verb not in READ_VERBS

    @property
    def labels(self) -> tuple[str, ...]:
        """verb, dry_run, group, version, resource, subresource, scope, component."""
        return (self.verb, self.dry_run, self.group, self.version, self.resource,
                self.subresource, self.scope, "apiserver")


def request_info(method: str, path: str, query: Mapping[str, str],
                 content_type: str = "") -> RequestInfo:
    method = method.upper()
    segments = [s for s in path.split("/") if s]
    call = parse_call(segments) if len(segments) >= 2 and segments[0] in ("api", "apis") \
        else None
    if call is None:
        normalized = "/" + "/".join(segments)
        verb = "GET" if method == "HEAD" else method
        return RequestInfo(verb if verb in ("GET", "POST", "PUT", "PATCH", "DELETE")
                           else "other",
                           subresource=normalized if normalized in NAMED_PATHS else "",
                           probe=normalized in PROBE_PATHS)
    sub = call.subresource or ""
    verb = _resource_verb(method, call.name is None, sub, query, content_type)
    scope = "namespace" if call.namespace else "resource" if call.name else "cluster"
    resource = call.target.resource.name
    served = sub in SUBRESOURCES.get(resource, {}) or \
        (resource == "pods" and sub in CONNECT_SUBRESOURCES)
    # Metrics label only what is served: any other name a path makes up is "" (each label
    # value is a series of its own, kept for the process's life).
    return RequestInfo(verb, call.target.group, call.target.version, resource,
                       sub if served else "", scope,
                       long_running=verb == "WATCH" or sub in LONG_RUNNING_SUBRESOURCES,
                       dry_run="All" if query.get("dryRun") == "All" else "")


def _resource_verb(method: str, collection: bool, sub: str, query: Mapping[str, str],
                   content_type: str) -> str:
    if sub in CONNECT_SUBRESOURCES and method in ("GET", "HEAD", "POST"):
        return "CONNECT"
    if method in ("GET", "HEAD"):
        if not collection:
            return "GET"
        return "WATCH" if go_bool(query.get("watch")) else "LIST"
    if method == "DELETE":
        return "DELETECOLLECTION" if collection else "DELETE"
    if method == "PATCH":
        return "APPLY" if content_type == patches.APPLY_PATCH else "PATCH"
    return method if method in ("POST", "PUT") else "other"


