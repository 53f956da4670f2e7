"""The kubelets' resource metrics, scraped as metrics-server scrapes them: at a fixed
interval, every node at once, and on each node every running container's one-shot stats
at once. Only the Docker API: a node container's own reading on the host's engine is its
node's (its pods' cgroups are under its own); the host's node is the sum of its pods'
containers (their sandboxes, which idle, are not read)."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from podctl.api import meta
from podctl.api.resourcemetrics import (
    Batch,
    MetricsStorage,
    Point,
    Sample,
    node_entry,
    pod_entry,
)
from podctl.errors import DockerUnavailable
from podctl.home import home_id
from podctl.runtime import engines, inventory, naming, nodecontainers
from podctl.runtime import stats as engine_stats
from podctl.runtime.records import ContainerRecord
from podctl.store import Store
from podctl.store import metrics as metrics_file

log = logging.getLogger("podctl.metrics")

# Stats calls in flight at once, over every engine (each is one engine request).
PARALLEL_READS = 16
RESOLUTION = 15.0  # metrics-server's --metric-resolution


class Scraper:
    """metrics-server's scrape loop body: `scrape` reads every node's containers once,
    keeps the readings and writes what the API serves (store.metrics)."""

    def __init__(self, store: Store, resolution: float = RESOLUTION) -> None:
        self.store = store
        self.home = store.path.parent
        self.storage = MetricsStorage(resolution)
        self._pool = ThreadPoolExecutor(max_workers=PARALLEL_READS,
                                        thread_name_prefix="stats")

    def scrape(self) -> int:
        """One scrape; the number of pods with metrics."""
        self.storage.store(self._batch())
        pods = [pod_entry(ns, name, containers)
                for (ns, name), containers in sorted(self.storage.pods().items())]
        nodes = [node_entry(name, usage) for name, usage in sorted(self.storage.nodes().items())]
        metrics_file.write(self.home, pods, nodes, self.storage.resolution)
        return len(pods)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        metrics_file.remove(self.home)

    def _batch(self) -> Batch:
        batch = Batch()
        homeid = home_id(self.home)
        # (node, its reading to come, the pod it is of: None for a node's own)
        jobs: list[tuple[str, Future[Sample | Point | None], tuple[str, str] | None]] = []
        for node in self.store.list("Node"):
            kind = engines.kind_of(node)
            if kind is None:
                continue  # no kubelet of this home runs it
            name = meta.name_of(node)
            engine = engines.engine_of(homeid, node)
            try:
                with engines.using(engine):
                    records = [r for r in inventory.list_containers() if r.running]
            except DockerUnavailable:
                continue  # a node that is down has no metrics, as upstream's
            batch.scraped_nodes.add(name)
            jobs += [(name, self._pool.submit(engines.bound(engine, _sample), name, r),
                      (r.labels.get(naming.POD_NAMESPACE, ""), r.labels.get(naming.POD_NAME, "")))
                     for r in records if not r.is_sandbox]
            if kind == engines.CONTAINER:
                own = nodecontainers.container_name(homeid, name)
                jobs.append((name, self._pool.submit(engines.bound(None, _node_point), own),
                             None))
        for name, future, pod in jobs:
            try:
                found = future.result()
            except Exception as exc:  # one container's failure costs only its pod's metrics
                log.debug("stats of a container on %s failed: %s", name, exc)
                found = None
            if isinstance(found, Sample):
                batch.samples.append(found)
            elif isinstance(found, Point):
                batch.nodes[name] = found
            elif pod is not None:
                batch.unread.add(pod)
        return batch


def _sample(node: str, record: ContainerRecord) -> Sample | None:
    reading = engine_stats.read(record.id)
    if reading is None:
        return None
    labels = record.labels
    return Sample(node, labels.get(naming.POD_NAMESPACE, ""), labels.get(naming.POD_NAME, ""),
                  record.container, record.id, record.is_sandbox,
                  Point(float(record.created), reading.timestamp, reading.cpu_ns,
                        reading.memory))


def _node_point(container: str) -> Point | None:
    reading = engine_stats.read(container)
    if reading is None:
        return None
    # Its start does not matter: a node's rate is always taken between two readings.
    return Point(0.0, reading.timestamp, reading.cpu_ns, reading.memory)
