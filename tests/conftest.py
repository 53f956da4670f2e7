"""The end of every test run: nothing of podctl's may be left on the host by the homes this
run made — no container, volume or network labelled with them, no PODCTL-<id>-* chain — or
the run fails, listing what was left. In CI (`CI=true`, a fresh machine where only the tests
run podctl) every home found on the host counts as the run's.

With pytest-xdist the check runs once, in the controlling process, after every worker has
finished; the workers learn the session's directory (where homes are recorded) from the
environment they inherit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.session import SESSION_ENV, homes_on_host, leftovers, tracked_homes

_DIRECTORY = pytest.StashKey[Path]()


def _controlling(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _controlling(config):
        directory = Path(tempfile.mkdtemp(prefix="podctl-test-session-"))
        config.stash[_DIRECTORY] = directory
        os.environ[SESSION_ENV] = str(directory)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _controlling(config) or _DIRECTORY not in config.stash:
        return
    directory = config.stash[_DIRECTORY]
    try:
        homes = tracked_homes(directory)
        if homes:
            _remove_pod_network_if_unused()
        if os.environ.get("CI") == "true":
            homes |= homes_on_host()
        left = leftovers(homes) if homes else []
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if not left:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    message = (f"podctl left things on the host after this run ({len(homes)} homes made):\n"
               + "\n".join(f"  - {line}" for line in left))
    if reporter is not None:
        reporter.write_sep("=", "leftovers", red=True)
        reporter.write_line(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _remove_pod_network_if_unused() -> None:
    """The shared pod network goes once every test is done and no home is left, as the last
    home's `podctl reset` would take it (tests leave it to the end: see remove_home)."""
    from podctl.runtime import leftovers

    leftovers.remove_pod_network_if_unused()
