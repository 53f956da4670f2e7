"""`create job NAME --image=IMAGE -- COMMAND` and `create job NAME --from=cronjob/NAME`."""

from __future__ import annotations

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.cronjob import job_from_cronjob
from podctl.errors import PodctlError
from podctl.store import Store

# kubectl marks a Job started by hand from a CronJob so it is told from scheduled ones.
INSTANTIATE = "cronjob.kubernetes.io/instantiate"


def build_job(store: Store, name: str, namespace: str, image: str | None,
              command: list[str], source: str | None) -> Obj:
    """The Job kubectl would send, from an image and command or a CronJob."""
    if bool(image) == bool(source):
        raise PodctlError("either --image or --from must be specified")
    if source:
        kind, _, from_name = source.partition("/")
        if meta.kind_for(kind) != "CronJob" or not from_name:
            raise PodctlError(f"from must be an existing cronjob: {source}")
        cronjob = store.require("CronJob", namespace, from_name)
        return job_from_cronjob(cronjob, name, {INSTANTIATE: "manual"})
    container: Obj = {"name": name, "image": image}
    if command:
        container["command"] = list(command)
    job: Obj = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"template": {"spec": {"containers": [container],
                                               "restartPolicy": "Never"}}}}
    return job


def create_job(store: Store, job: Obj) -> str:
    registry.create(store, job)
    return f"job.batch/{meta.name_of(job)} created"
