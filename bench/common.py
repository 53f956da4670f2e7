"""Shared helpers for benchmarks: timing, medians, a scratch $PODCTL_HOME, cleanup."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker

from podctl.home import home_id

ROOT = Path(__file__).resolve().parents[1]
PODCTL = str(Path(sys.executable).parent / "podctl")
PAUSE = os.environ.get("PODCTL_PAUSE_IMAGE", "podctl/pause:1.0")


def scratch_env() -> dict[str, str]:
    home = tempfile.mkdtemp(prefix="podctl-bench-")
    return dict(os.environ, PODCTL_HOME=home, PODCTL_PAUSE_IMAGE=PAUSE)


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> float:
    """Wall time of one podctl process; fails loudly if it fails."""
    started = time.perf_counter()
    proc = subprocess.run([PODCTL, *args], env=env, input=stdin, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"podctl {' '.join(args)} failed: {proc.stderr}")
    return elapsed


def podctl_network(api: docker.APIClient) -> str:
    """The id of the network podctl's pods live on (its first pod made it)."""
    from podctl.runtime.network import NETWORK_NAME

    for network in api.networks(names=[NETWORK_NAME]):
        if network["Name"] == NETWORK_NAME:
            return str(network["Id"])
    raise RuntimeError(f"no {NETWORK_NAME} network: podctl has made no pod yet")


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p90_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))] * 1000


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def remove_home(env: dict[str, str], client: docker.DockerClient) -> None:
    """Remove every container and volume of the pods a scratch home created."""
    import sqlite3

    home = Path(env["PODCTL_HOME"])
    db = home / "store.db"
    uids = []
    if db.exists():
        with sqlite3.connect(db) as conn:
            uids = [r[0] for r in conn.execute("SELECT uid FROM objects WHERE kind='Pod'")]
    for uid in uids:
        label = f"io.kubernetes.pod.uid={uid}"
        for c in client.containers.list(all=True, filters={"label": label}):
            c.remove(force=True)
        for v in client.volumes.list(filters={"label": label}):
            v.remove(force=True)
    # The home's provisioned volumes (claims' data) outlive its pods: they go with the home.
    for v in client.volumes.list(filters={"label": f"io.podctl.home={home_id(home)}"}):
        v.remove(force=True)
    for network in client.networks.list(filters={"label": f"io.podctl.home={home_id(home)}"}):
        network.remove()  # the home's reserved service range
    shutil.rmtree(home, ignore_errors=True)


def print_results(results: dict[str, dict[str, float | int]]) -> None:
    """Sections of `name value` lines, the format every benchmark prints."""
    for section, values in results.items():
        print(f"[{section}]")
        for key, value in values.items():
            print(f"  {key:28s} {value:10.3f}" if isinstance(value, float)
                  else f"  {key:28s} {value:>10}")
