#!/usr/bin/env bash
# Make sure a Docker engine answers. Installs Debian's docker.io when no daemon binary
# exists and starts dockerd in the background (log: $PODCTL_DOCKERD_LOG). With
# PODCTL_OFFLINE=1 the daemon gets a dead proxy so that a stray pull fails at once.
set -euo pipefail

log=${PODCTL_DOCKERD_LOG:-/var/log/podctl-dockerd.log}

if docker info >/dev/null 2>&1; then
    exit 0
fi

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v docker >/dev/null 2>&1 || need_pkgs+=(docker.io)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "ensure-docker: dockerd is not installed; run as root or install docker.io" >&2
        exit 1
    fi
    echo "ensure-docker: installing Debian's docker.io" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null
fi

proxy_env=()
if [ "${PODCTL_OFFLINE:-0}" = 1 ]; then
    proxy_env=(HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=)
fi

echo "ensure-docker: starting dockerd (log: $log)" >&2
# setsid: the daemon must outlive the make/CI process group that started it.
env "${proxy_env[@]}" setsid dockerd >>"$log" 2>&1 </dev/null &

for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 0.5
done
echo "ensure-docker: dockerd did not answer within 60s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
