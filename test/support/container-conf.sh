#!/usr/bin/env bash
# Write a containers.conf for tests that run podman on this kind of machine (Debian bookworm's
# podman 4.3, root, cgroup v1, no systemd, no crun, no catatonit). /etc/containers is never touched.
#
# Usage:
#   export CONTAINERS_CONF="$(mktemp --suffix=.conf)"
#   test/support/container-conf.sh "$CONTAINERS_CONF"   # or with no argument: print to stdout
#   ulimits=(); for u in $(test/support/container-conf.sh --ulimits); do ulimits+=(--ulimit "$u"); done
#   podman build "${ulimits[@]}" ... ; podman run ...
#
# With CONTAINERS_CONF set, podman (and the buildah inside `podman build`) reads only that file
# over its built-in defaults (not /usr/share/containers/containers.conf nor /etc/containers/*).
set -euo pipefail

# Explicit ulimits that runc can set. The host lacks CAP_SYS_RESOURCE, so a container's hard limits
# cannot exceed those of the podman process: podman's default for root (nofile=1048576) fails with
# "error setting rlimit type 7: operation not permitted", and podman caps its own nproc hard limit at
# kernel.pid_max (32768 here, below `ulimit -Hu`), so nproc above that fails with "rlimit type 6".
min() { local m="$1" v; shift; for v; do [ "$v" = unlimited ] || [ "$v" -ge "$m" ] || m="$v"; done; echo "$m"; }
nofile="$(min 1048576 "$(ulimit -Hn)" "$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)")"
nproc="$(min 1048576 "$(ulimit -Hu)" "$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 1048576)")"

# --init: podman's default init (catatonit) is not packaged here; Debian's tini is. The static build
# is bind-mounted into the container as /run/podman-init, so it needs no libc from the image.
init_path=/usr/bin/tini-static
[ -x "$init_path" ] || init_path=/usr/bin/tini

# HTTPS from containers (npm install in a build stage) goes through the same TLS-intercepting
# egress proxy as the host, whose CA is only in the host's bundle. Bind-mount that bundle over the
# image's in every container and RUN step (build stages included; it is not written into images).
# The base image (container-base.sh) sets NODE_EXTRA_CA_CERTS to that path so Node and npm read it.
ca_bundle=/etc/ssl/certs/ca-certificates.crt
volumes=""
[ -f "$ca_bundle" ] && volumes="volumes = [ \"${ca_bundle}:${ca_bundle}:ro\" ]"

conf="$(cat <<EOF
[containers]
default_ulimits = [ "nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}" ]
${volumes}
init_path = "${init_path}"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
EOF
)"

case "${1:-}" in
  # One `--ulimit` value a line: a `podman run`/`podman build` given any --ulimit of its own drops
  # default_ulimits entirely (and root's nofile default, 1048576, then fails), so pass all of them.
  --ulimits) printf 'nofile=%s:%s\nnproc=%s:%s\n' "$nofile" "$nofile" "$nproc" "$nproc" ;;
  "") printf '%s\n' "$conf" ;;
  *) printf '%s\n' "$conf" >"$1" ;;
esac
