"""Issue 21 benchmark: pod-to-pod TCP throughput across nodes (host-gw routes, no NAT, no
encapsulation) against the same node (one bridge), in the same run, beside the raw floor:
two plain containers on a Docker network made by hand. The goal: cross-node >= 0.9x
same-node.

Each transfer is MIB mebibytes of zeros from a server pod (busybox nc -e dd) to a client
pod that reads them with dd; throughput is MIB over the reading side's own wall time.
The median of ROUNDS transfers is reported per path."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time

import docker

from bench.common import PODCTL, print_results, run, scratch_env

ROUNDS = 5
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


def _pod_ip(env: dict[str, str], name: str) -> str:
    out = subprocess.run([PODCTL, "get", "pod", name, "-o", "json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return str((json.loads(out).get("status") or {}).get("podIP") or "")


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


def bench_pods() -> dict[str, float | int]:
    """Same node (the host's bridge; a node container's bridge) and across nodes (host to
    node, node to host, node to node), MiB/s."""
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
        ips = {name: _pod_ip(env, name) for name in pods}
        time.sleep(1)  # the servers' nc listening
        paths = {"same_node_host": ("c-host", "s-host"), "same_node_n2": ("c-n2", "s-n2"),
                 "host_to_n2": ("c-host", "s-n2"), "n2_to_host": ("c-n2", "s-host"),
                 "n2_to_n3": ("c-n2", "s-n3")}
        rates: dict[str, float | int] = {}
        for path, (client, server) in paths.items():
            samples = [_transfer([PODCTL, "exec", client, "--", *_client(ips[server])], env)
                       for _ in range(ROUNDS)]
            rates[f"{path}_mib_s"] = _median_rate(samples)
        same = [float(rates[f"{p}_mib_s"]) for p in ("same_node_host", "same_node_n2")]
        cross = [float(rates[f"{p}_mib_s"]) for p in ("host_to_n2", "n2_to_host", "n2_to_n3")]
        # The typical ratio, and the worst: the slowest cross path against the fastest same.
        rates["cross_over_same"] = round(statistics.mean(cross) / statistics.mean(same), 2)
        rates["worst_cross_over_best_same"] = round(min(cross) / max(same), 2)
        rates["mib_per_transfer"] = MIB
        rates["rounds"] = ROUNDS
    finally:
        controller.terminate()
        controller.wait()
        subprocess.run([PODCTL, "reset"], env=env, capture_output=True, check=False)
    return rates


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
