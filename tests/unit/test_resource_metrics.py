"""metrics-server's storage and quantities (api.resourcemetrics) and kubectl top's printing
(printers.top), pure."""

from __future__ import annotations

from podctl.api.resourcemetrics import (
    Batch,
    MetricsStorage,
    Point,
    Sample,
    binary_si,
    decimal_si,
    go_duration,
)
from podctl.printers.top import top_nodes, top_pods


def sample(pod: str, container: str, cid: str, start: float, at: float, cpu_ns: int,
           memory: int = 1024, node: str = "n1", sandbox: bool = False) -> Sample:
    return Sample(node, "default", pod, container, cid, sandbox,
                  Point(start, at, cpu_ns, memory))


def test_a_rate_needs_two_readings_of_the_same_container() -> None:
    storage = MetricsStorage(15.0)
    storage.store(Batch([sample("p", "c", "id1", 0.0, 100.0, 1_000_000_000)]))
    assert storage.pods() == {}
    storage.store(Batch([sample("p", "c", "id1", 0.0, 115.0, 4_000_000_000, 2048)]))
    usage = storage.pods()[("default", "p")]["c"]
    assert (usage.cpu_nanocores, usage.memory, usage.window) == (200_000_000, 2048, 15.0)


def test_a_fresh_container_is_measured_from_its_start() -> None:
    storage = MetricsStorage(15.0)
    storage.store(Batch([sample("p", "c", "id1", 100.0, 112.0, 1_200_000_000)]))
    usage = storage.pods()[("default", "p")]["c"]
    assert (usage.cpu_nanocores, usage.window) == (100_000_000, 12.0)


def test_a_container_too_young_or_restarted_has_no_rate_yet() -> None:
    storage = MetricsStorage(15.0)
    storage.store(Batch([sample("p", "c", "id1", 100.0, 105.0, 1)]))
    assert storage.pods() == {}
    storage.store(Batch([sample("p", "c", "id2", 118.0, 120.0, 5)]))  # a new container
    assert storage.pods() == {}


def test_a_pod_is_reported_once_all_its_containers_have_a_rate() -> None:
    storage = MetricsStorage(15.0)
    storage.store(Batch([sample("p", "a", "a1", 0.0, 100.0, 0)]))
    storage.store(Batch([sample("p", "a", "a1", 0.0, 115.0, 15),
                         sample("p", "b", "b1", 112.0, 115.0, 1)]))
    assert storage.pods() == {}


def test_the_sandbox_is_no_container_of_the_pod() -> None:
    storage = MetricsStorage(15.0)
    for at in (100.0, 115.0):
        storage.store(Batch([sample("p", "c", "c1", 0.0, at, int(at)),
                             sample("p", "POD", "s1", 0.0, at, 0, sandbox=True)]))
    assert list(storage.pods()[("default", "p")]) == ["c"]


def test_a_node_without_a_reading_of_its_own_is_the_sum_of_its_containers() -> None:
    storage = MetricsStorage(15.0)
    for at, cpu in ((100.0, 0), (115.0, 1_500_000_000)):
        storage.store(Batch([sample("p", "c", "c1", 0.0, at, cpu, 1000),
                             sample("q", "c", "c2", 0.0, at, cpu, 24)],
                            scraped_nodes={"n1"}))
    node = storage.nodes()["n1"]
    assert (node.cpu_nanocores, node.memory) == (200_000_000, 1024)


def test_a_node_container_is_measured_by_its_own_readings() -> None:
    storage = MetricsStorage(15.0)
    storage.store(Batch(nodes={"n2": Point(0.0, 100.0, 0, 10)}, scraped_nodes={"n2"}))
    storage.store(Batch(nodes={"n2": Point(0.0, 110.0, 5_000_000_000, 20)},
                        scraped_nodes={"n2"}))
    assert storage.nodes()["n2"].cpu_nanocores == 500_000_000


def test_quantities_and_windows_as_go_prints_them() -> None:
    assert [decimal_si(v, -9) for v in (0, 198809086, 5_000_000, 2_000_000_000)] == \
        ["0", "198809086n", "5m", "2"]
    assert [binary_si(v) for v in (0, 1331200, 1331201, 2 << 20)] == \
        ["0", "1300Ki", "1331201", "2Mi"]
    assert [go_duration(s) for s in (0, 15.002, 60.5, 4.926509142)] == \
        ["0s", "15.002s", "1m0.5s", "4.926509142s"]


def _pod(name: str, namespace: str, **containers: tuple[str, str]) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": namespace},
            "containers": [{"name": c, "usage": {"cpu": cpu, "memory": mem}}
                           for c, (cpu, mem) in containers.items()]}


def test_top_pods_prints_what_kubectl_prints() -> None:
    pods = [_pod("idle", "default", main=("0", "232Ki"), side=("0", "232Ki")),
            _pod("busy", "default", main=("198809086n", "236Ki"))]
    assert top_pods(pods) == (
        "NAME   CPU(cores)   MEMORY(bytes)   \n"
        "busy   199m         0Mi             \n"
        "idle   0m           0Mi             \n")
    assert top_pods(pods, containers=True, namespaces=True, total=True) == (
        "NAMESPACE   POD    NAME   CPU(cores)   MEMORY(bytes)   \n"
        "default     busy   main   199m         0Mi             \n"
        "default     idle   main   0m           0Mi             \n"
        "default     idle   side   0m           0Mi             \n"
        "                          ________     ________        \n"
        "                          199m         0Mi             \n")
    assert top_pods([]) == ""


def test_top_nodes_prints_shares_of_allocatable_and_unknown_nodes() -> None:
    metrics = [{"metadata": {"name": "vm"}, "usage": {"cpu": "201724719n",
                                                      "memory": "3196Ki"}}]
    available = {"vm": {"cpu": "2", "memory": "24731400Ki"}, "gone": {"cpu": "1"}}
    assert top_nodes(metrics, available) == (
        "NAME   CPU(cores)   CPU(%)      MEMORY(bytes)   MEMORY(%)   \n"
        "vm     202m         10%         3Mi             0%          \n"
        "gone   <unknown>    <unknown>   <unknown>       <unknown>   \n")


def test_a_pod_with_a_container_unread_is_left_out_not_halved() -> None:
    storage = MetricsStorage(15.0)
    for at in (100.0, 115.0):
        storage.store(Batch([sample("p", "a", "a1", 0.0, at, int(at)),
                             sample("p", "b", "b1", 0.0, at, int(at))]))
    storage.store(Batch([sample("p", "a", "a1", 0.0, 130.0, 130)], unread={("default", "p")}))
    assert storage.pods() == {}
