"""PodDisruptionBudgets against the real kubectl: `get`/`describe pdb` as kubectl prints
them, the disruption controller's status following the pods, and `kubectl drain` held by
a budget (the eviction's 429, kubectl's retry line and its global timeout) — then `podctl
drain` saying the same."""

from __future__ import annotations

import re

import pytest

from .conftest import BUSYBOX_IMAGE, Podctl
from .test_api_kubectl import ApiController, api, poll
from .test_drain import all_running, host_node, on_node

__all__ = ["api"]  # the fixture

pytestmark = pytest.mark.integration

WEB = f"""\
apiVersion: v1
kind: ReplicationController
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{app: web}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: {BUSYBOX_IMAGE}, command: [sleep, "3600"]}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: web}}
spec:
  minAvailable: 2
  selector: {{matchLabels: {{app: web}}}}
"""
RETRY = re.compile(r'error when evicting pods/"web-\w+" -n "default" \(will retry after 5s\): '
                   r"Cannot evict pod as it would violate the pod's disruption budget\.")


def pdb_row(kubectl: ApiController) -> list[str]:
    return kubectl("get", "pdb", "web", "--no-headers").split()[:4]


def test_a_budget_holds_kubectl_drain_until_it_allows_a_disruption(
        podctl: Podctl, api: ApiController) -> None:
    kubectl = api
    host = host_node(podctl)
    assert kubectl("apply", "-f", "-", input=WEB) == (
        "replicationcontroller/web created\npoddisruptionbudget.policy/web created\n")
    poll(all_running(podctl, host, 2), message="web's pods to run")
    poll(lambda: pdb_row(kubectl) == ["web", "2", "N/A", "0"], message="the budget's count")
    described = kubectl("describe", "pdb", "web")
    assert re.search(r"Min available:\s+2\nSelector:\s+app=web\nStatus:\n\s+Allowed "
                     r"disruptions:\s+0\n\s+Current:\s+2\n\s+Desired:\s+2\n\s+Total:\s+2\n",
                     described), described
    assert podctl("get", "pdb").splitlines()[0] == kubectl("get", "pdb").splitlines()[0] == \
        "NAME   MIN AVAILABLE   MAX UNAVAILABLE   ALLOWED DISRUPTIONS   AGE"
    assert podctl("get", "pdb", "--no-headers").split()[:4] == pdb_row(kubectl)

    # The node is cordoned first: the RC's replacements cannot land, the budget stays shut.
    held = kubectl.run("drain", host, "--timeout=6s", "--grace-period=1")
    assert held.code == 1
    assert RETRY.search(held.err), held.err
    assert re.search(r'\nerror when evicting pods/"web-\w+" -n "default": global timeout '
                     r'reached: 6s\n$', held.err), held.err
    assert len(on_node(podctl, host)) == 2

    # One disruption allowed: one pod goes, the other is held.
    kubectl("patch", "pdb", "web", "--type=merge", "-p", '{"spec":{"minAvailable":1}}')
    poll(lambda: pdb_row(kubectl) == ["web", "1", "N/A", "1"], message="one allowed")
    drained = podctl.run("drain", host, "--timeout=6s", "--grace-period=1")
    assert drained.code == 1
    assert len(re.findall(r"pod/web-\w+ evicted", drained.out)) == 1, drained.out
    assert RETRY.search(drained.err), drained.err
    assert re.search(r'\nerror: unable to drain node "\S+" due to error: error when evicting '
                     r'pods/"web-\w+" -n "default": global timeout reached: 6s, continuing '
                     r"command...\n", drained.err), drained.err
    assert len(on_node(podctl, host)) == 1
    kubectl("uncordon", host)
