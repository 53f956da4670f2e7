"""Issue 19 benchmark: `GET /api/v1/namespaces/default/pods` (10 pods) from a normal client,
its p99 latency quiet and while 50 hostile clients run against the same `run-controller
--api` (slowloris, idle connections, oversized bodies, deep JSON, YAML alias bombs, bad
parameters), and the controller process's RSS before and after them. Goal: the hostile p99
at most 2x the quiet one.

The hostile clients run in a process of their own, so the normal client's latency is the
server's, not its own process's GIL."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import socket
import ssl
import statistics
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from bench.bench_api import KUBECTL, POD, _start
from bench.common import print_results, remove_home, scratch_env

PODS = 10
ROUNDS = 3
SAMPLES = 200  # per window: the p99 is its third-highest
HOSTILE_SECONDS_BEFORE = 3.0  # let every hostile client get going before measuring
GOAL = 2.0
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    ca: str
    token: str
    pid: int

    @classmethod
    def of(cls, home: Path) -> Server:
        announced = json.loads((home / "api-server.json").read_text())
        host, port = announced["server"].split("//")[1].rsplit(":", 1)
        return cls(host, int(port), announced["ca"],
                   (home / "api-token").read_text().strip(), int(announced["pid"]))

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca)

    def connection(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.context(),
                                           timeout=60)

    def socket(self) -> socket.socket:
        raw = socket.create_connection((self.host, self.port), timeout=60)
        return self.context().wrap_socket(raw, server_hostname=self.host)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def latencies(server: Server, count: int) -> list[float]:
    """A client reusing one connection, as kubectl and client libraries do."""
    conn = server.connection()
    out = []
    headers = {"Authorization": f"Bearer {server.token}"}
    for _ in range(count):
        started = time.perf_counter()
        try:
            conn.request("GET", "/api/v1/namespaces/default/pods", headers=headers)
            answer = conn.getresponse()
            answer.read()
        except (OSError, http.client.HTTPException):
            conn.close()  # dropped (idle timeout between runs): a new one, timed too
            conn = server.connection()
            continue
        if answer.status != 200:
            raise RuntimeError(f"GET pods answered {answer.status}")
        out.append(time.perf_counter() - started)
    conn.close()
    return out


def p99_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000


# -- the hostile clients (in their own process) -------------------------------------------

def alias_bomb(levels: int) -> bytes:
    """The issue's ConfigMap: each level is nine aliases of the one before."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: laughs}", "data:",
             '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnopqrstuvwxyz"
    for i in range(1, levels):
        refs = ",".join(f"*{names[i - 1]}" for _ in range(9))
        lines.append(f"  {names[i]}: &{names[i]} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


SAFE_BOMB_LEVELS = 6  # 9^6 nodes: a few MB even when expanded in full
FULL_BOMB_LEVELS = 9  # the 526 bytes: gigabytes when expanded


def bomb_levels(server: Server) -> int:
    """The full bomb only against a server that refuses a smaller one by its alias budget;
    otherwise the bench itself would take gigabytes from everyone on this machine."""
    status, body = send(server, "POST", CONFIGMAPS, alias_bomb(SAFE_BOMB_LEVELS),
                        "application/yaml")
    return FULL_BOMB_LEVELS if 400 <= status < 500 and b"alias" in body else SAFE_BOMB_LEVELS


def send(server: Server, method: str, path: str, body: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, bytes]:
    conn = server.connection()
    try:
        conn.request(method, path, body=body, headers={
            "Authorization": f"Bearer {server.token}", "Content-Type": content_type})
        answer = conn.getresponse()
        return answer.status, answer.read()
    except (OSError, http.client.HTTPException):
        return 0, b""  # dropped by the server
    finally:
        conn.close()


def hold(server: Server, stop: threading.Event, drip: bool) -> str:
    """A connection that never finishes its head (a header line a second), or says nothing."""
    try:
        sock = server.socket()
        if drip:
            sock.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n")
        i = 0
        while not stop.is_set():
            if drip:
                sock.sendall(f"X-Slow-{i}: y\r\n".encode())
                i += 1
            if stop.wait(1.0):
                break
            sock.setblocking(False)
            try:
                if sock.recv(1) == b"":
                    return "dropped"
            except (BlockingIOError, ssl.SSLWantReadError):
                pass
            sock.setblocking(True)
        sock.close()
        return "held"
    except OSError:
        return "dropped"


BAD_PARAMETERS = ["limit=abc", "watch=1&timeoutSeconds=abc", "fieldSelector===",
                  "fieldSelector=spec.bogus%3D1", "continue=garbage", "resourceVersion=xyz",
                  "timeout=soon", "labelSelector=!!!", "limit=-5"]


@dataclass
class Tally:
    counts: Counter[str]
    lock: threading.Lock

    def add(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1


BIG = b'{"metadata":{"name":"big"},"data":{"k":"' + b"x" * (50 * 2**20) + b'"}}'
DEEP = b"[" * 100_000 + b"]" * 100_000


def attacker(kind: str, server: Server, stop: threading.Event, tally: Tally,
             levels: int) -> None:
    i = 0
    while not stop.is_set():
        if kind in ("slowloris", "idle"):
            tally.add(f"{kind} {hold(server, stop, drip=kind == 'slowloris')}")
            continue
        if kind == "big body":
            status, _ = send(server, "POST", CONFIGMAPS, BIG)
        elif kind == "deep JSON":
            status, _ = send(server, "POST", CONFIGMAPS, DEEP)
        elif kind == "alias bomb":
            status, _ = send(server, "POST", CONFIGMAPS, alias_bomb(levels),
                             "application/yaml")
        else:
            status, _ = send(server, "GET", "/api/v1/pods?"
                             + BAD_PARAMETERS[i % len(BAD_PARAMETERS)])
            i += 1
        tally.add(f"{kind} {status}")
        stop.wait(1.0 if kind == "big body" else 0.2)  # 50 MB costs this client too


HOSTILE = {"slowloris": 10, "idle": 10, "big body": 6, "deep JSON": 8, "alias bomb": 6,
           "bad parameters": 10}


def hostile_process(server: Server, levels: int, kinds: dict[str, int], stop: Any,
                    results: Any) -> None:
    stopping = threading.Event()
    tally = Tally(Counter(), threading.Lock())
    threads = [threading.Thread(target=attacker, args=(kind, server, stopping, tally, levels),
                                daemon=True)
               for kind, count in kinds.items() for _ in range(count)]
    for thread in threads:
        thread.start()
    stop.wait()
    stopping.set()
    deadline = time.monotonic() + 60  # one still waiting for an answer is left behind
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    results.put(dict(tally.counts))


# -- the run -------------------------------------------------------------------------------

def hostile_window(server: Server, levels: int, kinds: dict[str, int]
                   ) -> tuple[list[float], float, dict[str, int]]:
    """The normal client's latencies while the hostile clients run; the server's RSS then,
    and what the hostile clients were answered."""
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    hostile = context.Process(target=hostile_process, args=(server, levels, kinds, stop, results))
    hostile.start()
    try:
        time.sleep(HOSTILE_SECONDS_BEFORE)
        loaded = latencies(server, SAMPLES)
        rss = rss_mb(server.pid)
    finally:
        stop.set()
        seen: dict[str, int] = results.get(timeout=180)
        hostile.join(timeout=60)
    return loaded, rss, seen


def bench(client: docker.DockerClient, kinds: dict[str, int] = HOSTILE
          ) -> dict[str, dict[str, float | int]]:
    """ROUNDS of a quiet window then a hostile one, back to back: on a machine others share,
    the load drifts, and only windows close in time compare."""
    env = scratch_env()
    proc, kenv = _start(env)
    ratios, quiet_p99s, loaded_p99s, rss_during = [], [], [], 0.0
    seen: Counter[str] = Counter()
    try:
        manifest = "".join(POD.format(name=f"listed-{i}") for i in range(PODS))
        subprocess.run([KUBECTL, "create", "-f", "-"], input=manifest.encode(), env=kenv,
                       capture_output=True, check=True)
        subprocess.run([KUBECTL, "wait", "--for=condition=Ready", "pods", "--all",
                        "--timeout=300s"], env=kenv, capture_output=True, check=True)
        server = Server.of(Path(env["PODCTL_HOME"]))
        latencies(server, 50)  # warm
        rss_before = rss_mb(server.pid)
        levels = bomb_levels(server)
        for _ in range(ROUNDS):
            quiet = p99_ms(latencies(server, SAMPLES))
            loaded_samples, rss, answered = hostile_window(server, levels, kinds)
            loaded = p99_ms(loaded_samples)
            quiet_p99s.append(quiet)
            loaded_p99s.append(loaded)
            ratios.append(loaded / quiet)
            rss_during = max(rss_during, rss)
            seen.update(answered)
        time.sleep(2)
        rss_after = rss_mb(server.pid)
    finally:
        proc.terminate()
        proc.wait()
        remove_home(env, client)
    ratio = statistics.median(ratios)
    return {
        "latency (medians of rounds)": {
            "quiet_p99_ms": statistics.median(quiet_p99s),
            "hostile_p99_ms": statistics.median(loaded_p99s), "ratio": ratio,
            "goal_ratio": GOAL, "within_goal": int(ratio <= GOAL)},
        "ratio by round": {f"round_{i + 1}": r for i, r in enumerate(ratios)},
        "rss": {"before_mb": rss_before, "during_max_mb": rss_during, "after_mb": rss_after},
        "hostile requests": {**dict(sorted(seen.items())), "alias_bomb_levels": levels},
    }


def main() -> None:
    print_results(bench(docker.from_env()))


if __name__ == "__main__":
    main()
