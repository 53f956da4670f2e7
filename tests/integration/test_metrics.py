"""The metrics API from the engine's stats: `kubectl top` and `podctl top` against
`run-controller --api`, sampling every 10 s (its default is metrics-server's 15 s; 10 s is
the least it allows, and keeps the suite's time; the reading is the same)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import BUSYBOX_IMAGE, Podctl
from tests.integration.test_api_kubectl import ApiController, poll

pytestmark = pytest.mark.integration

RESOLUTION = "--metric-resolution=10s"  # metrics-server refuses less

PODS = f"""
apiVersion: v1
kind: Pod
metadata: {{name: busy, labels: {{app: load}}}}
spec:
  containers:
  - name: spin
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "while :; do :; done"]
    resources: {{limits: {{cpu: 300m}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: idle, labels: {{app: load}}}}
spec:
  containers:
  - name: nap
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
  - name: side
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
"""


def _cpu(table: str) -> dict[str, int]:
    """NAME -> millicores, from a `top pod` table."""
    rows = [line.split() for line in table.splitlines()[1:]]
    return {row[0]: int(row[1].removesuffix("m")) for row in rows if row}


def test_top_lists_a_busy_pod_above_its_idle_neighbour(podctl: Podctl) -> None:
    missing = podctl.run("top", "pods")
    assert (missing.code, missing.err.strip()) == (1, "error: Metrics API not available")
    api = ApiController(podctl, RESOLUTION)
    try:
        api("apply", "-f", "-", input=PODS)
        shown = poll(lambda: (out := api.run("top", "pods").out).count("m ") >= 2 and out,
                     timeout=90, message="metrics of both pods")
        assert shown.splitlines()[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
        usage = _cpu(shown)
        assert usage["busy"] >= 100 and usage["busy"] > usage["idle"] + 50, shown
        # Polled: a scrape that could not read one of its containers leaves the pod out
        # (rather than showing half of it) until the next one.
        containers = poll(lambda: api.run("top", "pod", "idle", "--containers").out,
                          timeout=60, message="the idle pod's containers")
        assert [line.split()[:2] for line in containers.splitlines()] == \
            [["POD", "NAME"], ["idle", "nap"], ["idle", "side"]], containers
        ours = poll(lambda: (out := podctl.run("top", "pods", "-l", "app=load").out)
                    .count("m ") >= 2 and out, timeout=60, message="podctl top's two pods")
        assert _cpu(ours)["busy"] > _cpu(ours)["idle"] + 50, ours
        nodes = api("top", "nodes")
        assert nodes.splitlines()[0].split() == \
            ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
        assert "<unknown>" not in nodes and int(nodes.splitlines()[1].split()[1][:-1]) > 50
        assert api.fails("top", "pod", "nope").strip() == \
            'Error from server (NotFound): pods "nope" not found'
    finally:
        api.stop()
    # The scraper went with its controller: its last answer is no answer.
    gone = podctl.run("top", "pods")
    assert (gone.code, gone.err.strip()) == (1, "error: Metrics API not available")
