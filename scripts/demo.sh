#!/usr/bin/env bash
# The seed walkthrough, Kubernetes in Action chapters 3 and 4 typed with podctl: a pod from YAML,
# port-forward, labels and selectors, a namespace, a liveness probe, a ReplicationController,
# and chapter 4's node failure over three nodes (two of them node containers).
#
# It runs in a throw-away $PODCTL_HOME, so a user's own pods and controller are never seen or
# touched, and it removes everything it created (pods, RCs, namespace, controller, home) even
# when a step fails or it is interrupted. Exit status: 0, or the failing step's.
set -euo pipefail
cd "$(dirname "$0")/.."
PODCTL=${PODCTL:-podctl}

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
    STEP=$'\e[1;36m' CMD=$'\e[1;32m' NOTE=$'\e[2m' BAD=$'\e[1;31m' OFF=$'\e[0m'
else
    STEP='' CMD='' NOTE='' BAD='' OFF=''
fi

PODCTL_HOME=$(mktemp -d "${TMPDIR:-/tmp}/podctl-demo.XXXXXX")
export PODCTL_HOME
FORWARD_PID=''
CURRENT='setting up'

cleanup() {
    local rc=$? leftovers ns
    set +e
    # A reader that went away (`make demo | head`) must not stop the clean-up half-way; a
    # second Ctrl-C may.
    trap '' PIPE HUP
    trap - EXIT INT TERM
    if [[ -n $FORWARD_PID ]]; then
        kill "$FORWARD_PID" 2>/dev/null
        wait "$FORWARD_PID" 2>/dev/null
    fi
    if ((rc != 0)); then
        printf '\n%sdemo failed (exit %d) during: %s%s\n' "$BAD" "$rc" "$CURRENT" "$OFF" >&2
    fi
    # The controller goes first: while it runs, an RC would replace the pods deleted below.
    "$PODCTL" stop-controller >/dev/null 2>&1
    for ns in $("$PODCTL" get namespaces -o name 2>/dev/null); do
        ns=${ns#namespace/}
        "$PODCTL" delete rc --all -n "$ns" --cascade=orphan >/dev/null 2>&1
        "$PODCTL" delete pods --all -n "$ns" --grace-period=0 --force >/dev/null 2>&1
        [[ $ns == default ]] || "$PODCTL" delete namespace "$ns" >/dev/null 2>&1
    done
    leftovers=$("$PODCTL" get pods -A -o name 2>&1)
    if [[ -n $leftovers ]]; then
        # Keep the home: without its store nothing could find these pods again.
        printf '%scould not remove: %s\nstate kept in PODCTL_HOME=%s%s\n' \
            "$BAD" "$leftovers" "$PODCTL_HOME" "$OFF" >&2
        exit $((rc == 0 ? 1 : rc))
    fi
    # What else the home made (node containers, their routes, its service range) goes with
    # it, as `kind delete cluster` removes a cluster.
    "$PODCTL" reset >/dev/null 2>&1
    rm -rf "$PODCTL_HOME"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

step() {
    CURRENT=$1
    printf '\n%s## %s%s\n' "$STEP" "$1" "$OFF"
}

note() { printf '%s%s%s\n' "$NOTE" "$*" "$OFF"; }

# Print a command as a user would type it (quoting only what the shell needs), then run it.
show() {
    local word line=''
    for word in "$@"; do
        [[ $word == [\&\|] || $word =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]] || word="'$word'"
        line+=" $word"
    done
    printf '%s$%s%s\n' "$CMD" "$line" "$OFF"
}

run() {
    show "$@"
    if [[ $1 == podctl ]]; then
        shift
        "$PODCTL" "$@"
    else
        "$@"
    fi
}

# fails COMMAND...: like run, for a command shown because it is refused.
fails() {
    if run "$@"; then
        printf '%sexpected that to fail%s\n' "$BAD" "$OFF" >&2
        return 1
    fi
}

# poll SECONDS WHAT COMMAND...: run COMMAND every 0.2 s until it succeeds, or fail after SECONDS.
poll() {
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    note "... waiting for $what"
    until "$@"; do
        if ((SECONDS >= deadline)); then
            printf '%stimed out after %d s waiting for %s%s\n' "$BAD" "$limit" "$what" "$OFF" >&2
            return 1
        fi
        sleep 0.2
    done
}

pod_names() { "$PODCTL" get pods -l "$1" -o name | sed 's|^pod/||'; }

# kubia_pods_are N [GONE]: exactly N pods carry app=kubia, and none of them is named GONE.
kubia_pods_are() {
    local pods
    pods=$(pod_names app=kubia)
    [[ $(grep -c . <<<"$pods") -eq $1 ]] && ! grep -qxF "${2:-}" <<<"$pods"
}

# node_is NODE STATUS: `get nodes` shows NODE with that STATUS.
node_is() { "$PODCTL" get nodes --no-headers | awk -v n="$1" -v s="$2" '$1 == n && $2 == s' | grep -q .; }

# kubia_running_off NODE: three app=kubia pods Running, none of them on NODE.
kubia_running_off() {
    [[ $("$PODCTL" get pods -l app=kubia -o wide --no-headers |
        awk -v n="$1" '$3 == "Running" && $7 != n' | grep -c .) -eq 3 ]]
}

# evicted_pods_gone NODE: no pod is left on NODE (the ones evicted from it are finished).
evicted_pods_gone() {
    ! "$PODCTL" get pods -o wide --no-headers | awk -v n="$1" '$7 == n' | grep -q .
}

no_pods_in() { [[ -z $("$PODCTL" get pods -n "$1" -o name) ]]; }

forwarding() {
    grep -q '^Forwarding from 127.0.0.1:' "$PODCTL_HOME/port-forward.log" && return 0
    if ! kill -0 "$FORWARD_PID" 2>/dev/null; then
        cat "$PODCTL_HOME/port-forward.log" >&2
        exit 1
    fi
    return 1
}

if command -v curl >/dev/null; then http_get=(curl -s); else http_get=(wget -qO-); fi

note "podctl state for this demo: PODCTL_HOME=$PODCTL_HOME (removed at the end)"

step "A pod from its manifest: a pause container holds the namespaces, kubia joins them"
run podctl create -f manifests/kubia-manual.yaml
run podctl wait --for=condition=Ready pod/kubia-manual
run podctl get pods -o wide

step "Talk to the pod from this machine: port-forward (a random local port) to its 8080"
show podctl port-forward kubia-manual :8080 '&'
"$PODCTL" port-forward kubia-manual :8080 >"$PODCTL_HOME/port-forward.log" 2>&1 &
FORWARD_PID=$!
poll 20 "the forwarder to listen" forwarding
cat "$PODCTL_HOME/port-forward.log"
port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$PODCTL_HOME/port-forward.log")
run "${http_get[@]}" "http://localhost:$port"
kill "$FORWARD_PID"
wait "$FORWARD_PID" || true
FORWARD_PID=''
run podctl logs kubia-manual

step "Labels: a second pod that has some, then add and change them"
run podctl create -f manifests/kubia-manual-with-labels.yaml
run podctl get pods --show-labels
run podctl label pod kubia-manual creation_method=manual
fails podctl label pod kubia-manual-v2 env=debug
run podctl label pod kubia-manual-v2 env=debug --overwrite
run podctl get pods -L creation_method,env

step "Label selectors: equality, existence, negation; then delete by selector"
run podctl get pods -l creation_method=manual
run podctl get pods -l env
run podctl get pods -l '!env'
run podctl delete pods -l creation_method=manual

step "A namespace of its own, with a kubia-manual pod in it"
run podctl create -f manifests/custom-namespace.yaml
run podctl get namespaces
run podctl wait --for=condition=Ready pod/kubia-manual -n custom-namespace
run podctl get pods --all-namespaces
run podctl delete namespace custom-namespace

step "Probes, restarts and replica counts need the controller: start it in the background"
run podctl run-controller --detach

step "A liveness probe restarts an app that answers 500 after its 5th request"
note "(manifests/kubia-liveness-fast.yaml: the book's kubia-liveness with a 1 s probe period)"
run podctl create -f manifests/kubia-liveness-fast.yaml
run podctl wait --for=condition=Ready pod/kubia-liveness
run podctl wait --for=jsonpath='{.status.containerStatuses[0].restartCount}'=1 \
    pod/kubia-liveness --timeout=60s
run podctl get pod kubia-liveness
run podctl logs kubia-liveness --previous
# shellcheck disable=SC2016 # sed's $ (the last line), shown as typed
show podctl describe pod kubia-liveness '|' sed -n '/^Events:/,$p'
"$PODCTL" describe pod kubia-liveness | sed -n '/^Events:/,$p'
run podctl delete pod kubia-liveness

step "A ReplicationController keeps three kubia pods running"
run podctl create -f manifests/kubia-rc.yaml
run podctl wait rc/kubia --for=jsonpath='{.status.readyReplicas}'=3
run podctl get rc kubia
run podctl get pods --show-labels

step "Delete one of its pods: the controller creates a replacement"
victim=$(pod_names app=kubia | head -n 1)
run podctl delete pod "$victim"
poll 30 "a pod to replace $victim" kubia_pods_are 3 "$victim"
run podctl wait --for=condition=Ready pods -l app=kubia
run podctl get pods

step "Relabel a pod: the RC releases it (it keeps running) and makes a new one"
released=$(pod_names app=kubia | head -n 1)
run podctl label pod "$released" app=foo --overwrite
poll 30 "a pod to replace $released" kubia_pods_are 3 "$released"
run podctl wait --for=condition=Ready pods -l app=kubia
run podctl get pods -L app

step "Scale up, then down"
run podctl scale rc kubia --replicas=5
run podctl wait rc/kubia --for=jsonpath='{.status.readyReplicas}'=5
run podctl get rc kubia
run podctl scale rc kubia --replicas=2
poll 30 "the RC to be down to 2 pods" kubia_pods_are 2
run podctl get pods -L app

step "Delete the RC but not its pods: --cascade=orphan leaves them running, ownerless"
run podctl delete rc kubia --cascade=orphan
run podctl get rc
run podctl get pods -o custom-columns=NAME:.metadata.name,STATUS:.status.phase,OWNER:.metadata.ownerReferences[0].name

step "Clean up: the orphans and the released pod"
run podctl delete pods --all

step "Two more nodes, each a container running its own Docker engine (kind's design)"
run podctl node add node2
run podctl node add node3
run podctl get nodes -o wide

step "Node failure needs short clocks for a demo: restart the controller with them"
note "(upstream's: a silent node is NotReady after 50 s, its pods go 300 s later)"
run podctl stop-controller
run podctl run-controller --detach --node-monitor-grace-period=10s \
    --default-not-ready-toleration-seconds=5 --default-unreachable-toleration-seconds=5

step "An RC of three spreads over the three nodes; a pod of its own on node2"
run podctl create -f manifests/kubia-rc.yaml
run podctl create -f manifests/kubia-bare.yaml
run podctl wait rc/kubia --for=jsonpath='{.status.readyReplicas}'=3
run podctl wait --for=condition=Ready pod/kubia-bare
run podctl get pods -o wide

step "node2 fails (its engine is killed, as a crash): its pods are evicted, the RC replaces its own"
run podctl node stop node2
poll 60 "node2 to be NotReady" node_is node2 NotReady
poll 60 "three kubia pods Running off node2" kubia_running_off node2
run podctl get nodes
run podctl get pods -o wide
note "(kubia-bare stays Terminating until node2 answers again: nothing makes it anew)"

step "node2 comes back: its kubelet finishes the evicted pods, the bare pod is gone for good"
run podctl node start node2
poll 60 "node2 to be Ready" node_is node2 Ready
poll 60 "the evicted pods to be gone" evicted_pods_gone node2
run podctl get nodes
run podctl get pods -o wide

step "Clean up: the RC and its pods, the nodes, then the controller"
run podctl delete rc kubia
run podctl node delete node2
run podctl node delete node3
poll 60 "the pod network's agents to go with the last node container" no_pods_in kube-system
run podctl stop-controller
run podctl get all --all-namespaces

CURRENT='cleaning up'
printf '\n%sDone in %d s: nothing is left behind; the demo home is removed on exit.%s\n' \
    "$STEP" "$SECONDS" "$OFF"
