"""Re-applying a Job: its generated selector keeps the stored UID; the template is immutable."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podctl.errors import Invalid
from podctl.manifest.defaults import default_object
from podctl.manifest.update import merged

MANIFEST: dict[str, Any] = {
    "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
    "spec": {"parallelism": 1, "template": {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "pi", "image": "busybox", "command": ["true"]}]}}}}


def test_reapply_keeps_the_stored_uid_in_selector_and_labels() -> None:
    stored = default_object("Job", MANIFEST, "default")
    uid = stored["metadata"]["uid"]
    again = default_object("Job", MANIFEST, "default")
    assert again["metadata"]["uid"] != uid
    assert merged(stored, again) == stored
    wider = copy.deepcopy(MANIFEST)
    wider["spec"]["parallelism"] = 3
    out = merged(stored, default_object("Job", wider, "default"))
    assert out["spec"]["parallelism"] == 3 and out["metadata"]["generation"] == 2
    assert out["spec"]["selector"]["matchLabels"] == {"batch.kubernetes.io/controller-uid": uid}
    assert out["metadata"]["labels"]["controller-uid"] == uid


def test_a_template_change_is_refused() -> None:
    stored = default_object("Job", MANIFEST, "default")
    changed = copy.deepcopy(MANIFEST)
    changed["spec"]["template"]["spec"]["containers"][0]["command"] = ["false"]
    with pytest.raises(Invalid, match=r"spec\.template: .*field is immutable"):
        merged(stored, default_object("Job", changed, "default"))
