#!/usr/bin/env bash
# Builds podctl's local images without any registry:
#   podctl/pause:1.0   Pod sandbox (infra) container
#   podctl/kubia:1     stand-in for the book's luksa/kubia
#   podctl/busybox:1   busybox userland plus test helpers (shmtool)
#   podctl/kube-proxy:1  busybox + this host's iptables (nft and legacy), for the
#                      hostNetwork system pod that programs Service rules
#   podctl/dns:1       busybox + this host's dnsmasq, the cluster DNS system pod
#   podctl/kindnet:1   busybox + this host's iptables and iproute2's ip, the network agent
#                      on every node (host-gw routes between nodes' pod CIDRs)
#   podctl/grpc-health:1  busybox + grpchealth, a grpc.health.v1 server for gRPC probe tests
#   podctl/ingress-nginx:1  busybox + this host's nginx, the ingress controller's system pod
#   podctl/node:1      busybox + this host's dockerd, containerd, runc, docker-init,
#                      docker-proxy and iptables: a node container (podctl node add)
#
# The last two copy Debian binaries (apt-get install iptables dnsmasq-base) and the
# shared libraries ldd resolves for them into the rootfs, so they are built offline too.
#
# Each image is a `docker import` of a root filesystem assembled here, so
# nothing is ever pulled.  Every image carries the sha256 of its inputs in
# the label io.podctl.source-hash; an image whose label already matches is
# left alone, which makes re-running this script cheap.
#
# Usage: images/build.sh [TAG...]   (no arguments: every image; else only those tags)
set -euo pipefail

umask 022   # rootfs modes end up in the image; don't inherit odd umasks

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/build.sh"
busybox=/bin/busybox
label=io.podctl.source-hash

pause_tag=podctl/pause:1.0
kubia_tag=podctl/kubia:1
busybox_tag=podctl/busybox:1
proxy_tag=podctl/kube-proxy:1
dns_tag=podctl/dns:1
grpc_health_tag=podctl/grpc-health:1

xtables_nft=/usr/sbin/xtables-nft-multi
xtables_legacy=/usr/sbin/xtables-legacy-multi
dnsmasq=/usr/sbin/dnsmasq
ingress_tag=podctl/ingress-nginx:1
nginx=/usr/sbin/nginx
kindnet_tag=podctl/kindnet:1
iproute=/usr/bin/ip
node_tag=podctl/node:1
# Debian's docker.io, containerd, runc and tini packages, as the host engine runs them.
dockerd=/usr/sbin/dockerd
containerd=/usr/bin/containerd
containerd_shim=/usr/bin/containerd-shim-runc-v2
runc=/usr/sbin/runc
docker_init=/usr/bin/docker-init
docker_proxy=/usr/sbin/docker-proxy

# Applets the images promise; checked so a trimmed busybox fails loudly here
# rather than as a confusing "not found" inside some test container.
required_applets=(sh cat echo ls ps sleep wget nc hostname env touch rm mkdir
	test true false kill id grep date head tail wc printf uname top)

die() {
	echo "build.sh: error: $*" >&2
	exit 1
}

preflight() {
	command -v gcc >/dev/null 2>&1 ||
		die "gcc not found (install gcc and libc6-dev, e.g. via 'make images')"
	command -v docker >/dev/null 2>&1 ||
		die "docker CLI not found"
	docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
		die "cannot reach the Docker engine (is dockerd running, may you use it?)"
	[[ -x $busybox ]] ||
		die "$busybox not found (install busybox-static, e.g. via 'make images')"
	# A dynamically linked busybox would not start in our library-less rootfs.
	[[ -x $xtables_nft && -x $xtables_legacy ]] ||
		die "iptables not found (install iptables, e.g. via 'make images')"
	[[ -x $dnsmasq ]] ||
		die "$dnsmasq not found (install dnsmasq-base, e.g. via 'make images')"
	[[ -x $nginx ]] ||
		die "$nginx not found (install nginx, e.g. via 'make images')"
	command -v ldd >/dev/null 2>&1 || die "ldd not found"
	[[ -x $iproute ]] || die "$iproute not found (install iproute2)"
	local f
	for f in "$dockerd" "$containerd" "$containerd_shim" "$runc" "$docker_init" "$docker_proxy"; do
		[[ -x $f ]] || die "$f not found (install docker.io, containerd, runc, tini)"
	done
	if command -v readelf >/dev/null 2>&1 &&
		readelf -l "$busybox" 2>/dev/null | grep -q 'program interpreter'; then
		die "$busybox is dynamically linked; install busybox-static"
	fi
}

# sha256 over (name, content hash) of each input; names are basenames so the
# result doesn't depend on where the checkout lives.
source_hash() {
	local f
	for f in "$@"; do
		printf '%s %s\n' "${f##*/}" "$(sha256sum <"$f" | cut -d' ' -f1)"
	done | sha256sum | cut -d' ' -f1
}

# True when $1 exists locally and was built from inputs hashing to $2.
# `docker image inspect` only looks at local images; it never pulls.
up_to_date() {
	local have
	have=$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" \
		"$1" 2>/dev/null) || return 1
	[[ $have == "$2" ]]
}

compile() {
	local out=$1 src=$2
	shift 2
	gcc -static "$@" -Wall -Wextra -o "$out" "$src" ||
		die "compiling ${src#"$here"/} failed (static linking needs libc6-dev)"
}

# import_rootfs ROOTFS TAG HASH [--change ...]...
import_rootfs() {
	local rootfs=$1 tag=$2 hash=$3 old_id new_id
	shift 3
	old_id=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
	# Numeric root ownership: the builder's own uid must not leak into images.
	tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf - . |
		docker import --message "podctl images/build.sh" \
			--change "LABEL $label=$hash" "$@" - "$tag" >/dev/null
	new_id=$(docker image inspect --format '{{.Id}}' "$tag")
	# Drop the stale image we just untagged, unless something still uses it
	# (a container, another tag), in which case docker refuses and we keep it.
	if [[ -n $old_id && $old_id != "$new_id" ]]; then
		docker image rm "$old_id" >/dev/null 2>&1 || true
	fi
	echo "built $tag (${new_id#sha256:})"
}

# A busybox userland: every applet as a symlink in /bin, plus the few files
# tools expect (passwd/group for `id`/`ps`, a world-writable /tmp).
make_busybox_rootfs() {
	local r=$1 applet
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,proc,sys,dev,tmp}
	chmod 0755 "$r"
	chmod 0700 "$r/root"
	chmod 1777 "$r/tmp"
	install -m 0755 "$busybox" "$r/bin/busybox"
	while read -r applet; do
		[[ -n $applet && $applet != busybox ]] || continue
		ln -s busybox "$r/bin/$applet"
	done < <("$busybox" --list)
	for applet in "${required_applets[@]}"; do
		[[ -L $r/bin/$applet ]] || die "$busybox lacks the '$applet' applet"
	done
	# `#!/usr/bin/env ...` is the usual shebang; keep it working.
	ln -s ../../bin/env "$r/usr/bin/env"
	cat >"$r/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$r/etc/group" <<-'EOF'
		root:x:0:
		nobody:x:65534:
	EOF
}

build_pause() {
	local r=$tmp/pause
	mkdir -p "$r"
	chmod 0755 "$r"   # the image runs as 65535, which must traverse /
	compile "$r/pause" "$here/pause/pause.c" -Os -s
	chmod 0755 "$r/pause"
	import_rootfs "$r" "$pause_tag" "$1" \
		--change 'ENTRYPOINT ["/pause"]' \
		--change 'USER 65535:65535'
}

build_kubia() {
	local r=$tmp/kubia
	make_busybox_rootfs "$r"
	mkdir -p "$r/app"
	compile "$r/app/kubia" "$here/kubia/kubia.c" -O2 -s
	chmod 0755 "$r/app/kubia"
	import_rootfs "$r" "$kubia_tag" "$1" \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENTRYPOINT ["/app/kubia"]' \
		--change 'EXPOSE 8080/tcp'
}

build_busybox() {
	local r=$tmp/busybox
	make_busybox_rootfs "$r"
	compile "$r/bin/shmtool" "$here/tools/shmtool.c" -Os -s
	chmod 0755 "$r/bin/shmtool"
	import_rootfs "$r" "$busybox_tag" "$1" \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/sh"]'
}

build_grpc_health() {
	local r=$tmp/grpc-health
	make_busybox_rootfs "$r"
	compile "$r/bin/grpchealth" "$here/grpc-health/grpchealth.c" -Os -s
	chmod 0755 "$r/bin/grpchealth"
	import_rootfs "$r" "$grpc_health_tag" "$1" \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENTRYPOINT ["/bin/grpchealth"]' \
		--change 'EXPOSE 9000/tcp'
}

# copy_with_libs ROOTFS FILE...: each file at its own path, plus every shared library
# ldd resolves for it (and the dynamic loader), so the rootfs needs no package manager.
copy_with_libs() {
	local r=$1 f lib
	shift
	for f in "$@"; do
		mkdir -p "$r$(dirname "$f")"
		cp -L "$f" "$r$f"
		while read -r lib; do
			[[ -e $r$lib ]] && continue
			mkdir -p "$r$(dirname "$lib")"
			cp -L "$lib" "$r$lib"
		done < <(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true)
	done
}

# iptables as the Debian package installs it: one multi-call binary per backend, its
# extensions (dlopened, so copied with their own libraries) and the usual names. The
# controller picks the backend dockerd uses (see podctl.proxy.apply); both are here.
copy_iptables() {
	local r=$1 ext name
	copy_with_libs "$r" "$xtables_nft" "$xtables_legacy"
	for ext in /usr/lib/*-linux-gnu/xtables/*.so; do
		copy_with_libs "$r" "$ext"
	done
	for name in iptables iptables-save iptables-restore; do
		ln -sf xtables-nft-multi "$r/usr/sbin/${name/iptables/iptables-nft}"
		ln -sf xtables-legacy-multi "$r/usr/sbin/${name/iptables/iptables-legacy}"
	done
}

build_kube_proxy() {
	local r=$tmp/kube-proxy
	make_busybox_rootfs "$r"
	copy_iptables "$r"
	mkdir -p "$r/run" "$r/etc"
	: >"$r/etc/ethertypes"
	# It only holds the host's network namespace open for `docker exec`; TERM ends it.
	import_rootfs "$r" "$proxy_tag" "$1" \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENTRYPOINT ["/bin/sh", "-c", "trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]'
}

build_dns() {
	local r=$tmp/dns
	make_busybox_rootfs "$r"
	copy_with_libs "$r" "$dnsmasq"
	mkdir -p "$r/etc/podctl-dns" "$r/run" "$r/var/lib/misc"
	install -m 0755 "$here/dns/dns-run" "$r/bin/dns-run"
	install -m 0755 "$here/dns/dns-reload" "$r/bin/dns-reload"
	import_rootfs "$r" "$dns_tag" "$1" \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENTRYPOINT ["/bin/dns-run"]' \
		--change 'EXPOSE 53/udp 53/tcp'
}

# The ingress controller: Debian's nginx (its core build has SSL with SNI, HTTP/2 and the
# proxy module; no dynamic modules are needed) with its libraries.
build_ingress() {
	local r=$tmp/ingress
	make_busybox_rootfs "$r"
	copy_with_libs "$r" "$nginx"
	echo 'nogroup:x:65534:' >>"$r/etc/group"   # Debian's nginx runs workers as nobody:nogroup
	mkdir -p "$r/etc/podctl-ingress/certs" "$r/run" "$r/var/lib/nginx" "$r/var/log/nginx"
	install -m 0755 "$here/ingress/ingress-run" "$r/bin/ingress-run"
	install -m 0755 "$here/ingress/ingress-reload" "$r/bin/ingress-reload"
	import_rootfs "$r" "$ingress_tag" "$1" \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENTRYPOINT ["/bin/ingress-run"]' \
		--change 'EXPOSE 80/tcp 443/tcp'
}

# The network agent: iptables as kube-proxy's image has it, and iproute2's ip (busybox's
# applet lacks route protocols and metrics as selectors podctl's routes are told apart by).
build_kindnet() {
	local r=$tmp/kindnet
	make_busybox_rootfs "$r"
	copy_iptables "$r"
	copy_with_libs "$r" "$iproute"
	rm -f "$r/bin/ip"
	ln -s ../usr/bin/ip "$r/bin/ip"
	mkdir -p "$r/run"
	: >"$r/etc/ethertypes"
	install -m 0755 "$here/kindnet/kindnet-run" "$r/bin/kindnet-run"
	import_rootfs "$r" "$kindnet_tag" "$1" \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENTRYPOINT ["/bin/kindnet-run"]'
}

# A node: its own Docker engine (see images/README.md for what the container may do).
# /var/run is /run, a tmpfs in the node container: a crashed node's pid files and sockets
# must not outlive it, or its dockerd refuses to start again.
build_node() {
	local r=$tmp/node name
	make_busybox_rootfs "$r"
	copy_with_libs "$r" "$dockerd" "$containerd" "$containerd_shim" "$runc" "$docker_proxy"
	mkdir -p "$r/usr/bin"
	cp -L "$docker_init" "$r/usr/bin/docker-init"
	copy_iptables "$r"
	# dockerd calls the plain names (nft, as the host's), and ip6tables too.
	for name in iptables iptables-save iptables-restore ip6tables ip6tables-save \
		ip6tables-restore; do
		ln -sf xtables-nft-multi "$r/usr/sbin/$name"
		ln -sf xtables-nft-multi "$r/usr/sbin/${name/tables/tables-nft}"
		ln -sf xtables-legacy-multi "$r/usr/sbin/${name/tables/tables-legacy}"
	done
	: >"$r/etc/ethertypes"
	mkdir -p "$r/run" "$r/var/lib/docker" "$r/usr/lib" "$r/podctl"
	rm -rf "$r/var/run"
	ln -s ../run "$r/var/run"
	printf 'PRETTY_NAME="podctl node"\nNAME="podctl node"\nID=podctl-node\n' \
		>"$r/usr/lib/os-release"
	ln -s ../usr/lib/os-release "$r/etc/os-release"
	install -m 0755 "$here/node/node-run" "$r/bin/node-run"
	import_rootfs "$r" "$node_tag" "$1" \
		--change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENTRYPOINT ["/usr/bin/docker-init", "--", "/bin/node-run"]'
}

# build_if_stale TAG BUILD_FUNCTION INPUT...
build_if_stale() {
	local tag=$1 fn=$2 hash
	shift 2
	hash=$(source_hash "$@")
	if ((${#wanted[@]})) && [[ " ${wanted[*]} " != *" $tag "* ]]; then
		return 0
	fi
	if up_to_date "$tag" "$hash"; then
		echo "$tag is up to date"
	else
		echo "building $tag ..."
		"$fn" "$hash"
	fi
}

wanted=("$@")
preflight

tmp=$(mktemp -d "${TMPDIR:-/tmp}/podctl-images.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

build_if_stale "$pause_tag" build_pause "$here/pause/pause.c" "$self"
build_if_stale "$kubia_tag" build_kubia "$here/kubia/kubia.c" "$self" "$busybox"
build_if_stale "$busybox_tag" build_busybox "$here/tools/shmtool.c" "$self" "$busybox"
build_if_stale "$proxy_tag" build_kube_proxy "$self" "$busybox" "$xtables_nft" "$xtables_legacy"
build_if_stale "$dns_tag" build_dns "$here/dns/dns-run" "$here/dns/dns-reload" "$self" \
	"$busybox" "$dnsmasq"

build_if_stale "$grpc_health_tag" build_grpc_health "$here/grpc-health/grpchealth.c" "$self" \
	"$busybox"

build_if_stale "$ingress_tag" build_ingress "$here/ingress/ingress-run" \
	"$here/ingress/ingress-reload" "$self" "$busybox" "$nginx"

build_if_stale "$kindnet_tag" build_kindnet "$here/kindnet/kindnet-run" "$self" "$busybox" \
	"$xtables_nft" "$xtables_legacy" "$iproute"

build_if_stale "$node_tag" build_node "$here/node/node-run" "$self" "$busybox" \
	"$dockerd" "$containerd" "$containerd_shim" "$runc" "$docker_init" "$docker_proxy" \
	"$xtables_nft" "$xtables_legacy"

echo "images:"
printf '  %s\n' "$pause_tag" "$kubia_tag" "$busybox_tag" "$proxy_tag" "$dns_tag" "$kindnet_tag" \
	"$grpc_health_tag" "$ingress_tag" "$node_tag"
