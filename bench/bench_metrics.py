"""Issue 24 benchmark: one metrics scrape (every running container's one-shot stats, at
once) of 30 pods, against the raw Docker SDK reading the same containers one after the
other (one-shot, and as `docker stats --no-stream` does, without it), same run; and
`kubectl top pods` against `kubectl get pods` at the same count through the API (top reads
the scrape's last answer, no engine call)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import docker

from bench.common import PODCTL, median_ms, print_results, remove_home, run, scratch_env
from podctl.home import home_id

PODS = 30
ROUNDS = 5
KUBECTL = str(Path(PODCTL).parent / "kubectl")


def _manifests() -> str:
    return "---\n".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: m{i:02d}}}\nspec:\n  containers:\n"
        f"  - {{name: c, image: podctl/busybox:1, command: [sleep, '3600']}}\n"
        for i in range(PODS))


def _scrape_times(env: dict[str, str]) -> list[float]:
    """In a process of its own with the bench's home: the scraper's scrape, timed."""
    code = (
        "import time\nfrom podctl.home import podctl_home\nfrom podctl.store import open_store\n"
        "from podctl.kubelet.stats import Scraper\n"
        "s = Scraper(open_store(podctl_home()), 15.0)\n"
        f"for _ in range({ROUNDS}):\n    t = time.perf_counter(); s.scrape(); "
        "print(time.perf_counter() - t)\n")
    out = subprocess.run([str(Path(PODCTL).parent / "python"), "-c", code], env=env,
                         capture_output=True, text=True, check=True).stdout
    return [float(line) for line in out.split()]


def _sdk_times(api: docker.APIClient, ids: list[str], one_shot: bool, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for cid in ids:
            api.stats(cid, stream=False, one_shot=one_shot)
        samples.append(time.perf_counter() - started)
    return samples


def _kubectl(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([KUBECTL, *args], env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> None:
    client = docker.from_env()
    env = scratch_env()
    controller = None
    try:
        run(env, "create", "-f", "-", stdin=_manifests())
        home = home_id(Path(env["PODCTL_HOME"]))
        ids = [c.id for c in client.containers.list(filters={"label": [
            f"io.podctl.home={home}", "io.kubernetes.container.name=c"]})]
        scrape = _scrape_times(env)
        one_shot = _sdk_times(client.api, ids, True, ROUNDS)
        streamed = _sdk_times(client.api, ids[:5], False, 1)
        results: dict[str, dict[str, float | int]] = {"metrics scrape": {
            "pods": PODS, "podctl_scrape_ms": median_ms(scrape),
            "sdk_one_shot_serial_ms": median_ms(one_shot),
            "sdk_no_stream_serial_ms": median_ms(streamed) * PODS / 5,
            "ratio_scrape/sdk_one_shot": median_ms(scrape) / median_ms(one_shot)}}
        with open(Path(env["PODCTL_HOME"]) / "bench-controller.log", "wb") as log:
            controller = subprocess.Popen([PODCTL, "run-controller", "--api=127.0.0.1:0"],
                                          env=env, stdout=subprocess.DEVNULL, stderr=log)
        kubeconfig = Path(env["PODCTL_HOME"]) / "kubeconfig"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "serving the Kubernetes API" not in \
                (Path(env["PODCTL_HOME"]) / "bench-controller.log").read_text():
            time.sleep(0.1)
        kubeconfig.write_text(subprocess.run([PODCTL, "kubeconfig"], env=env,
                                             capture_output=True, text=True).stdout)
        kenv = {**env, "KUBECONFIG": str(kubeconfig), "HOME": env["PODCTL_HOME"]}
        while time.monotonic() < deadline + 60 and subprocess.run(
                [KUBECTL, "top", "pods"], env=kenv, capture_output=True).returncode != 0:
            time.sleep(1)
        top = [_kubectl(kenv, "top", "pods") for _ in range(ROUNDS)]
        get = [_kubectl(kenv, "get", "pods") for _ in range(ROUNDS)]
        results["kubectl top"] = {"pods": PODS, "top_pods_ms": median_ms(top),
                                  "get_pods_ms": median_ms(get),
                                  "ratio_top/get": median_ms(top) / median_ms(get)}
        print_results(results)
    finally:
        if controller is not None:
            controller.terminate()
            controller.wait(timeout=15)
        remove_home(env, client)


if __name__ == "__main__":
    main()
