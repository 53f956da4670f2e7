#!/usr/bin/env bash
# The seed walkthrough: the kubia pod from Kubernetes in Action, chapter 3, with podctl.
set -euo pipefail
cd "$(dirname "$0")/.."
PODCTL=${PODCTL:-podctl}

step() { printf '\n\033[1m# %s\033[0m\n' "$1"; }
run() { printf '$ podctl %s\n' "$*"; "$PODCTL" "$@"; }

if "$PODCTL" get pod kubia-manual >/dev/null 2>&1; then
    "$PODCTL" delete pod kubia-manual --now >/dev/null
fi

step "Create the pod from its manifest: a pause container plus the kubia container"
run create -f manifests/kubia-manual.yaml

step "List pods, then with the pod IP and node"
run get pods
run get pods -o wide

step "Everything Kubernetes would tell you about it"
run describe pod kubia-manual

step "Ask the app from inside the pod (localhost is shared by all its containers)"
run exec kubia-manual -- wget -qO- http://localhost:8080

step "What the app logged"
run logs kubia-manual

step "Clean up: stop gracefully, remove containers, sandbox and volumes"
run delete pod kubia-manual --grace-period=1
printf '\nDone. `docker ps -a --filter label=io.podctl.managed` shows nothing left behind.\n'
