"""Container lifecycle hooks (postStart, preStop) as upstream's kubelet runs them
(pkg/kubelet/lifecycle/handlers.go and kuberuntime_container.go): exec in the container,
httpGet dialled from the node to the pod, or sleep; and the kill that runs preStop first,
inside the grace period."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.kubelet.common import emit
from podctl.runtime import containers as ctr
from podctl.runtime import engines
from podctl.runtime.records import ContainerRecord
from podctl.store import Store

# The kubelet never gives a container less than this between SIGTERM and SIGKILL.
MINIMUM_GRACE_SECONDS = 2
# A postStart hook has no timeout upstream (the pod's worker waits); here the wait is cut
# into slices so that a pod deleted meanwhile is not held up by its hook.
POLL_SECONDS = 0.5
HTTP_TIMEOUT_SECONDS = 10.0
OUTPUT_LIMIT = 10 * 1024  # of a hook's stdout and of its stderr kept for the message


def pod_ref(pod: Obj) -> str:
    """format.Pod: name_namespace(uid)."""
    md = pod["metadata"]
    return f"{md['name']}_{md.get('namespace', 'default')}({md.get('uid', '')})"


def go_quote(text: str) -> str:
    """Go's %q of a string (close enough: printable non-ASCII kept as is)."""
    return json.dumps(text, ensure_ascii=False)


def run_hook(handler: Obj, pod: Obj, spec: Obj, container_id: str, pod_ip: str,
             timeout: float | None) -> str | None:
    """Run one hook; None on success, else upstream's failure message. `timeout` bounds
    the wait (None: as long as it takes)."""
    name = spec["name"]
    if "exec" in handler:
        command = [str(c) for c in handler["exec"].get("command") or []]
        error, output = _exec(container_id, command, timeout)
        if error is None:
            return None
        return (f"Exec lifecycle hook ([{' '.join(command)}]) for Container {go_quote(name)} "
                f"in Pod {go_quote(pod_ref(pod))} failed - error: {error}, "
                f"message: {go_quote(output)}")
    if "httpGet" in handler:
        error = _http(handler["httpGet"], spec, pod_ip, timeout)
        if error is None:
            return None
        return (f"HTTP lifecycle hook ({handler['httpGet'].get('path', '')}) for Container "
                f"{go_quote(name)} in Pod {go_quote(pod_ref(pod))} failed - error: {error}")
    if "sleep" in handler:
        seconds = int(handler["sleep"].get("seconds") or 0)
        time.sleep(max(0.0, min(float(seconds), timeout if timeout is not None else seconds)))
        return None
    return f"Cannot run handler: invalid handler: {handler}"


def _exec(container_id: str, command: list[str], timeout: float | None
          ) -> tuple[str | None, str]:
    """(error, combined output) of a command run in the container, as the CRI's ExecSync
    reports it: `command '<cmd>' exited with <code>: <stderr>`."""
    from podctl.runtime import execstream
    from podctl.runtime.client import docker_api, exec_exit_code

    api = docker_api()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            created = api.exec_create(container_id, command, stdout=True, stderr=True)
            # Read to the end, keeping only the first OUTPUT_LIMIT bytes of each stream: a
            # hook that prints without end must not fill the controller's memory.
            out, err = execstream.run(api, created["Id"], OUTPUT_LIMIT)
            result["out"] = out.decode(errors="replace")
            result["err"] = err.decode(errors="replace")
            result["code"] = exec_exit_code(api, created["Id"])
        except Exception as exc:  # the engine refused (no such command, container gone)
            result["error"] = " ".join(str(getattr(exc, "explanation", None) or exc).split())

    worker = threading.Thread(target=engines.carry(run), daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return "context deadline exceeded", ""
    if "error" in result:
        return str(result["error"]), ""
    output = result["out"] + result["err"]
    code = result["code"]
    if code == 0:
        return None, output
    return f"command '{' '.join(command)}' exited with {code}: {result['err']}", output


def _http(action: Obj, spec: Obj, pod_ip: str, timeout: float | None) -> str | None:
    """GET the hook's URL; only a failed exchange fails the hook (upstream does not look
    at the status code of a lifecycle hook's answer)."""
    from podctl.kubelet import probes

    port_ref = action.get("port")
    port = 80 if port_ref in ("", None) else probes.resolve_port(port_ref, spec)
    if port is None:
        return f"couldn't find port: {port_ref} in {spec['name']}"
    scheme = str(action.get("scheme") or "HTTP").lower()
    host = action.get("host") or pod_ip
    path = str(action.get("path") or "")
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{probes.hostport(host, port)}{path}"
    headers = {"User-Agent": probes.USER_AGENT, "Accept": "*/*"}
    for header in action.get("httpHeaders") or []:
        headers[str(header.get("name"))] = str(header.get("value", ""))
    seconds = HTTP_TIMEOUT_SECONDS if timeout is None else max(0.001, timeout)
    outcome, _ = probes.one_request(url, headers, seconds)
    if outcome.result == probes.FAILURE and outcome.output.startswith("Get "):
        return outcome.output
    return None


def run_post_start(store: Store, pod: Obj, spec: Obj, container_id: str, pod_ip: str
                   ) -> str | None:
    """The postStart hook of a container just started; None when it passed (or there is
    none), else its failure message. A pod deleted meanwhile stops the wait: its container
    is about to be killed anyway."""
    handler = (spec.get("lifecycle") or {}).get("postStart")
    if not handler:
        return None
    outcome: dict[str, str | None] = {}
    worker = threading.Thread(target=engines.carry(lambda: outcome.setdefault(
        "message", run_hook(handler, pod, spec, container_id, pod_ip, None))), daemon=True)
    worker.start()
    while True:
        worker.join(POLL_SECONDS)
        if not worker.is_alive():
            return outcome.get("message")
        current = store.get("Pod", meta.namespace_of(pod), meta.name_of(pod))
        if current is None or meta.uid_of(current) != meta.uid_of(pod) or \
                current["metadata"].get("deletionTimestamp"):
            return None


def kill_container(store: Store, pod: Obj, spec: Obj | None, container_id: str,
                   grace: int, pod_ip: str = "",
                   stop: Callable[[str, int], None] = ctr.stop) -> None:
    """killContainer: preStop (if any, and if there is time), then the stop signal with
    what is left of the grace period, never less than the kubelet's minimum."""
    if grace <= 0:
        stop(container_id, 0)
        return
    handler = ((spec or {}).get("lifecycle") or {}).get("preStop")
    if handler and spec is not None:
        started = time.monotonic()
        message = _bounded(lambda: run_hook(handler, pod, spec, container_id, pod_ip,
                                            float(grace)), float(grace))
        if message:
            # Upstream keeps the hook's message out of the event: it may carry secrets.
            emit(store, pod, "Warning", "FailedPreStopHook", "PreStopHook failed",
                 spec["name"])
        grace -= int(time.monotonic() - started)
    stop(container_id, max(MINIMUM_GRACE_SECONDS, grace))


def _bounded(fn: Callable[[], str | None], seconds: float) -> str | None:
    """fn's answer, or None once `seconds` passed (the hook is left to finish alone, as the
    kubelet's goroutine is)."""
    outcome: dict[str, str | None] = {}
    worker = threading.Thread(target=engines.carry(lambda: outcome.setdefault("m", fn())),
                              daemon=True)
    worker.start()
    worker.join(max(0.0, seconds))
    return outcome.get("m")


def grace_left(deadline: float) -> int:
    """Whole seconds left before a monotonic deadline."""
    return max(0, math.ceil(deadline - time.monotonic()))


def sidecar_names(pod: Obj) -> list[str]:
    """Init containers with restartPolicy Always (native sidecars), in spec order."""
    return [c["name"] for c in pod["spec"].get("initContainers") or []
            if c.get("restartPolicy") == "Always"]


def container_specs(pod: Obj) -> dict[str, Obj]:
    spec = pod["spec"]
    return {c["name"]: c for c in (spec.get("initContainers") or []) + spec.get("containers", [])}


def kill_in_order(store: Store, pod: Obj, records: list[ContainerRecord], grace: int,
                  pod_ip: str) -> None:
    """Stop containers as killPodWithSyncResult does: the regular ones together, then the
    sidecars one by one in reverse order, all inside one grace period counted from now."""
    from podctl.kubelet.common import parallel

    deadline = time.monotonic() + grace
    specs = container_specs(pod)
    order = sidecar_names(pod)
    regular = [r for r in records if r.container not in order]
    sidecars = sorted((r for r in records if r.container in order),
                      key=lambda r: order.index(r.container), reverse=True)

    def one(record: ContainerRecord) -> None:
        left = grace_left(deadline) if grace > 0 else 0
        kill_container(store, pod, specs.get(record.container), record.id, left, pod_ip)

    parallel(one, regular)
    for record in sidecars:
        one(record)
