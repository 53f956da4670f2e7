"""Issue 21 benchmark: pod-to-pod TCP throughput across nodes (host-gw routes, no NAT, no
encapsulation) against the same node (one bridge), in the same run, beside the raw floor:
two plain containers on a Docker network made by hand. The goal: cross-node >= 0.9x
same-node.

Each transfer is MIB mebibytes of zeros from a server pod (busybox nc -e dd) to a client
pod that reads them with dd; throughput is MIB over the reading side's own wall time.
The paths are interleaved: every round runs each path once, in an order rotated from round
to round, so a burst of load from elsewhere on a shared machine lands on all paths alike;
the ratios are taken within each round and their median reported. The CPU both pods'
containers used per transfer (their cgroups' usage, from the engines' stats: the kernel's
forwarding work runs in the softirqs of the tasks that send and receive and is charged to
them; what ksoftirqd takes over under load is not) is reported too: it depends far less on
the machine's load than the wall time does, and says what the extra hops cost."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from pathlib import Path

import docker

from bench.common import PODCTL, print_results, run, scratch_env

ROUNDS = 10
MIB = 2048
PORT = 5001
SERVE = (f"while :; do nc -l -p {PORT} -e dd if=/dev/zero bs=1M count={MIB} "
         "2>/dev/null; done")
# busybox's `time` (busybox's dd prints records, not bytes and seconds).
_REAL = re.compile(r"real\s+(\d+)m\s*([0-9.]+)s")


def _pod(name: str, node: str, command: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                                "containers": [{"name": "c", "image": "podctl/busybox:1",
                                                "command": ["sh", "-c", command]}]}})


def _mib_per_s(stderr: str) -> float:
    found = _REAL.search(stderr)
    if found is None or "records in" not in stderr or "0+0 records in" in stderr:
        raise RuntimeError(f"no complete transfer in {stderr!r}")
    seconds = int(found.group(1)) * 60 + float(found.group(2))
    return MIB / max(seconds, 0.001)


def _transfer(command: list[str], env: dict[str, str] | None = None) -> float:
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    return _mib_per_s(proc.stderr + proc.stdout)


def _client(server_ip: str) -> list[str]:
    return ["timeout", "60", "time", "nc", server_ip, str(PORT), "-e", "dd", "of=/dev/null",
            "bs=1M"]


def _pod_info(env: dict[str, str], name: str) -> tuple[str, str, str]:
    """(pod IP, node, uid) of a pod."""
    out = subprocess.run([PODCTL, "get", "pod", name, "-o", "json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    pod = json.loads(out)
    return (str((pod.get("status") or {}).get("podIP") or ""),
            str(pod["spec"]["nodeName"]), str(pod["metadata"]["uid"]))


class _Cpu:
    """CPU time used by a pod's container, read from its node's engine."""

    def __init__(self, env: dict[str, str], host: str, node: str, uid: str) -> None:
        from podctl.home import home_id
        from podctl.runtime import engines, naming

        if node == host:
            self.api = docker.APIClient()
        else:
            homeid = home_id(Path(env["PODCTL_HOME"]))
            self.api = docker.APIClient(f"unix://{engines.node_engine(homeid, node).socket}")
        found = self.api.containers(filters={"label": [f"{naming.POD_UID}={uid}",
                                                       f"{naming.CONTAINER_NAME}=c"]})
        self.container = found[0]["Id"]

    def seconds(self) -> float:
        stats = self.api.stats(self.container, stream=False, one_shot=True)
        return float(stats["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9


def _running(env: dict[str, str], names: list[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = json.loads(subprocess.run([PODCTL, "get", "pods", "-o", "json"], env=env,
                                         capture_output=True, check=True).stdout)["items"]
        up = {p["metadata"]["name"] for p in pods
              if (p.get("status") or {}).get("phase") == "Running"
              and (p.get("status") or {}).get("podIP")}
        if set(names) <= up:
            return
        time.sleep(0.2)
    raise RuntimeError(f"pods {names} not Running")


def _median_rate(samples: list[float]) -> float:
    return round(statistics.median(samples), 1)


SAME = ("same_node_host", "same_node_n2")
CROSS = ("host_to_n2", "n2_to_host", "n2_to_n3")
PATHS = {"same_node_host": ("c-host", "s-host"), "same_node_n2": ("c-n2", "s-n2"),
         "host_to_n2": ("c-host", "s-n2"), "n2_to_host": ("c-n2", "s-host"),
         "n2_to_n3": ("c-n2", "s-n3")}


def _measure(env: dict[str, str], ips: dict[str, str],
             cpus: dict[str, _Cpu]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """ROUNDS interleaved rounds: per path, the rate of each round and the CPU seconds
    both pods used for each transfer."""
    rates: dict[str, list[float]] = {path: [] for path in PATHS}
    cpu: dict[str, list[float]] = {path: [] for path in PATHS}
    order = list(PATHS)
    for round_no in range(ROUNDS):
        shift = round_no % len(order)
        for path in order[shift:] + order[:shift]:
            client, server = PATHS[path]
            before = cpus[client].seconds() + cpus[server].seconds()
            rates[path].append(_transfer(
                [PODCTL, "exec", client, "--", *_client(ips[server])], env))
            cpu[path].append(cpus[client].seconds() + cpus[server].seconds() - before)
    return rates, cpu


def _ratios(rates: dict[str, list[float]], cpu: dict[str, list[float]]) -> dict[str, float]:
    """Cross against same, within each round, then the median over rounds: the typical
    ratio (mean of the cross paths over mean of the same-node ones) and the worst (the
    slowest cross path against the fastest same-node one); and the CPU both pods spent on
    a cross-node transfer against a same-node one."""
    typical, worst, cost = [], [], []
    for r in range(ROUNDS):
        same = [rates[p][r] for p in SAME]
        cross = [rates[p][r] for p in CROSS]
        typical.append(statistics.mean(cross) / statistics.mean(same))
        worst.append(min(cross) / max(same))
        cost.append(statistics.mean(cpu[p][r] for p in CROSS)
                    / statistics.mean(cpu[p][r] for p in SAME))
    return {"cross_over_same": round(statistics.median(typical), 2),
            "worst_cross_over_best_same": round(statistics.median(worst), 2),
            "cpu_cross_over_same": round(statistics.median(cost), 2)}


def bench_pods() -> dict[str, float | int]:
    """Same node (the host's bridge; a node container's bridge) and across nodes (host to
    node, node to host, node to node), MiB/s, and the CPU each path costs."""
    env = scratch_env()
    controller = subprocess.Popen([PODCTL, "run-controller"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(env, "node", "add", "n2")
        run(env, "node", "add", "n3")
        host = next(n["metadata"]["name"] for n in json.loads(subprocess.run(
            [PODCTL, "get", "nodes", "-o", "json"], env=env, capture_output=True,
            check=True).stdout)["items"] if n["metadata"]["name"] not in ("n2", "n3"))
        pods = {"s-host": (host, SERVE), "s-n2": ("n2", SERVE), "s-n3": ("n3", SERVE),
                "c-host": (host, "sleep 3600"), "c-n2": ("n2", "sleep 3600")}
        run(env, "create", "-f", "-",
            stdin="".join(_pod(name, node, cmd) for name, (node, cmd) in pods.items()))
        _running(env, list(pods))
        info = {name: _pod_info(env, name) for name in pods}
        ips = {name: ip for name, (ip, _, _) in info.items()}
        cpus = {name: _Cpu(env, host, node, uid) for name, (_, node, uid) in info.items()}
        time.sleep(1)  # the servers' nc listening
        rates, cpu = _measure(env, ips, cpus)
        results: dict[str, float | int] = {}
        for path in PATHS:
            results[f"{path}_mib_s"] = _median_rate(rates[path])
        for path in PATHS:
            results[f"{path}_cpu_ms_per_gib"] = round(
                statistics.median(cpu[path]) * 1000 * 1024 / MIB)
        results.update(_ratios(rates, cpu))
        results["mib_per_transfer"] = MIB
        results["rounds"] = ROUNDS
    finally:
        controller.terminate()
        controller.wait()
        subprocess.run([PODCTL, "reset"], env=env, capture_output=True, check=False)
    return results


def bench_raw(client: docker.DockerClient) -> dict[str, float | int]:
    """The floor: the same transfer between two containers on a network made by hand."""
    network = client.networks.create(f"podctl-bench-net-{time.time_ns()}")
    made = []
    try:
        server = client.containers.run("podctl/busybox:1", ["sh", "-c", SERVE], detach=True,
                                       network=network.name)
        made.append(server)
        reader = client.containers.run("podctl/busybox:1", ["sleep", "3600"], detach=True,
                                       network=network.name)
        made.append(reader)
        server.reload()
        ip = server.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        time.sleep(1)
        samples = []
        for _ in range(ROUNDS):
            result = reader.exec_run(_client(ip), demux=True)
            samples.append(_mib_per_s(b"".join(p or b"" for p in result.output).decode()))
        return {"same_bridge_mib_s": _median_rate(samples), "rounds": ROUNDS}
    finally:
        for container in made:
            container.remove(force=True)
        network.remove()


def main() -> None:
    client = docker.from_env()
    print_results({"pod_network": bench_pods(), "raw_pod_network": bench_raw(client)})


if __name__ == "__main__":
    main()
