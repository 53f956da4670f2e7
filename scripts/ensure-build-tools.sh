#!/usr/bin/env bash
# Install what `make images` compiles and packs with: gcc + static libc, busybox-static,
# and the Debian binaries the system images carry (iptables, dnsmasq, nginx).
set -euo pipefail

missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] \
    || [ -e /usr/lib/libc.a ] || missing+=(libc6-dev)
[ -x /bin/busybox ] || missing+=(busybox-static)
{ [ -x /usr/sbin/xtables-nft-multi ] && [ -x /usr/sbin/xtables-legacy-multi ]; } \
    || missing+=(iptables)
[ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "ensure-build-tools: missing ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "ensure-build-tools: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Only nginx's binary is wanted (copied into podctl/ingress-nginx:1): the package's service
# must not start on this machine's port 80. policy-rc.d 101 is Debian's "do not start".
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
