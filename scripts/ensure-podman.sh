#!/usr/bin/env bash
# The bench's peer: Debian's podman, set up to run podctl's images offline.
#   - installs podman and catatonit (its infra process) when podman is missing (needs root);
#   - writes /etc/containers/containers.conf for this kind of machine: cgroupfs (no systemd),
#     file events, runc (what docker.io brings), catatonit as the pod's infra, and ulimits
#     podman can set without CAP_SYS_RESOURCE (its defaults ask for more than root may have);
#   - loads podctl's images into podman's store from Docker (`docker save | podman load`),
#     so both engines run the same root filesystems and nothing is pulled.
# Idempotent: a second run changes nothing. Exits non-zero with one line on stderr saying
# why when podman cannot be made to run a container here; the bench prints that line.
set -euo pipefail

images=(podctl/pause:1.0 podctl/kubia:1 podctl/busybox:1)
conf=/etc/containers/containers.conf
marker="# written by podctl scripts/ensure-podman.sh"

fail() {
    echo "ensure-podman: $*" >&2
    exit 1
}

if ! command -v podman >/dev/null 2>&1 || ! command -v catatonit >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || fail "podman is not installed; run as root or install podman and catatonit"
    echo "ensure-podman: installing Debian's podman and catatonit" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || fail "apt-get update failed"
    apt-get install -y -qq podman catatonit >/dev/null || fail "apt-get install podman catatonit failed"
fi

# An administrator's own containers.conf is left alone.
if [ ! -e "$conf" ] || grep -qxF "$marker" "$conf"; then
    [ -w "$(dirname "$conf")" ] || [ "$(id -u)" = 0 ] || fail "cannot write $conf; run as root"
    mkdir -p "$(dirname "$conf")"
    cat >"$conf.tmp" <<EOF
$marker
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
helper_binaries_dir = ["/usr/libexec/podman", "/usr/lib/podman", "/usr/bin"]
EOF
    if cmp -s "$conf.tmp" "$conf"; then rm -f "$conf.tmp"; else mv "$conf.tmp" "$conf"; fi
fi

# Load an image only when podman lacks it or holds a different build of it (same image ID:
# `docker save` keeps the config, so the IDs match when the content does).
for image in "${images[@]}"; do
    want=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) ||
        fail "docker has no $image (run make images)"
    have=$(podman image inspect --format '{{.Id}}' "localhost/$image" 2>/dev/null || true)
    if [ "sha256:$have" != "$want" ] && [ "$have" != "$want" ]; then
        docker save "$image" | podman load -q >/dev/null || fail "podman load of $image failed"
    fi
done

# One pod proves the set-up (runtime, cgroups, ulimits, network, storage) works on this
# machine; its infra image (built from catatonit on first use) is then ready for the bench.
check=podctl-peer-check-$$
out=$(podman pod create --name "$check" 2>&1 &&
    podman run --rm --pull=never --pod "$check" localhost/podctl/busybox:1 true 2>&1) || ok=no
podman pod rm -f "$check" >/dev/null 2>&1 || true
[ "${ok:-yes}" = yes ] || fail "podman cannot run a pod here: $(echo "$out" | tail -n 1)"
