#!/usr/bin/env bash
# Build a node:24-slim look-alike base image for podman tests without pulling from any registry:
# a Debian bookworm minbase rootfs from Debian's mirror (debootstrap), the project's own Node binary,
# npm, tini and ca-certificates, a `node` user (uid/gid 1000), imported with `podman import`.
# Differs from node:24-slim in one ENV: NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt, so
# Node/npm also trust the system bundle, which container-conf.sh bind-mounts from the host (the
# egress proxy's CA is only there). No entrypoint script; CMD ["node"].
#
# Usage: test/support/container-base.sh [IMAGE] [NODE_BINARY]
#   IMAGE        default localhost/jitflow-node-base:test; nothing is done if it exists, unless FORCE=1
#   NODE_BINARY  default: the project's node_modules/node/bin/node (resolved with readlink -f)
# Environment:
#   FORCE=1          rebuild even if IMAGE exists
#   NPM_DIR          npm's package directory to copy (default: the project's node_modules/npm if
#                    present, else the package of whatever `npm` on PATH resolves to)
#   DEBIAN_MIRROR    default http://deb.debian.org/debian
#   CONTAINERS_CONF  used if set; otherwise a temporary one from container-conf.sh
#   TMPDIR           where the rootfs is built (default /var/tmp; needs ~400 MB)
# Needs root and the Debian packages podman runc debootstrap tini (podman's recommended netavark and
# aardvark-dns, and iptables, for container networking); see container-conf.sh for podman's settings.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
project="$(cd "$here/../.." && pwd)"
image="${1:-localhost/jitflow-node-base:test}"
node_bin="$(readlink -f "${2:-$project/node_modules/node/bin/node}")"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

log() { printf '[container-base] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, rootful podman)"
for cmd in podman debootstrap chroot tar; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found (apt-get install podman runc netavark aardvark-dns iptables debootstrap tini)"
done

if [ -z "${CONTAINERS_CONF:-}" ]; then
  CONTAINERS_CONF="$(mktemp --suffix=.containers.conf)"
  conf_tmp="$CONTAINERS_CONF"
  "$here/container-conf.sh" "$CONTAINERS_CONF"
fi
export CONTAINERS_CONF

work=""
child=""
cleanup() {
  if [ -n "$child" ]; then
    kill -TERM -- "-$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ -n "$work" ] && [ -d "$work" ]; then
    # debootstrap mounts proc/sys (and may bind-mount /dev) inside the target; a failed run can
    # leave them mounted, and rm must never descend into them.
    awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
      umount -l "$m" || true
    done
    rm -rf --one-file-system "$work"
  fi
  if [ -n "${conf_tmp:-}" ]; then rm -f "$conf_tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One build at a time (parallel tests): the second caller waits, then finds the image.
exec 9>/run/lock/jitflow-container-base.lock
flock 9

if [ "${FORCE:-0}" != 1 ] && podman image exists "$image"; then
  log "$image exists (FORCE=1 to rebuild)"
  exit 0
fi

[ -x "$node_bin" ] || die "node binary not found: $node_bin"
node_version="$("$node_bin" --version)"
node_version="${node_version#v}"

# npm's package directory (the one holding bin/npm-cli.js).
npm_dir="${NPM_DIR:-}"
if [ -z "$npm_dir" ] && [ -f "$project/node_modules/npm/bin/npm-cli.js" ]; then
  npm_dir="$project/node_modules/npm"
fi
if [ -z "$npm_dir" ] && command -v npm >/dev/null 2>&1; then
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
fi
[ -n "$npm_dir" ] && [ -f "$npm_dir/bin/npm-cli.js" ] && [ -f "$npm_dir/bin/npx-cli.js" ] ||
  die "npm package not found (set NPM_DIR to a directory holding bin/npm-cli.js)"
npm_version="$("$node_bin" "$npm_dir/bin/npm-cli.js" --version)"

log "building $image: Debian bookworm minbase + node $node_version ($node_bin) + npm $npm_version ($npm_dir)"
start=$SECONDS
work="$(mktemp -d "${TMPDIR:-/var/tmp}/jitflow-node-base.XXXXXX")"
root="$work/rootfs"

# The mirror is occasionally slow or drops a connection: retry from scratch a few times.
for attempt in 1 2 3; do
  # In its own process group, waited for with `wait`, so a TERM/INT to this script ends it at once
  # (bash runs traps only between foreground commands) and cleanup can stop all of it.
  setsid -w debootstrap --variant=minbase --include=tini,ca-certificates bookworm "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 </dev/null &
  child=$!
  if wait "$child"; then
    child=""
    break
  fi
  child=""
  log "debootstrap attempt $attempt failed:"
  tail -n 5 "$work/debootstrap.log" >&2 || true
  [ "$attempt" -lt 3 ] || die "debootstrap failed 3 times"
  awk -v p="$root/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$root"
  sleep 5
done
log "debootstrap done in $((SECONDS - start))s"

# Like node:24-slim: a node user and group with id 1000.
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Node and npm where the official images put them.
install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" /usr/local/bin/node --version >/dev/null
chroot "$root" /usr/bin/env PATH=/usr/local/bin:/usr/bin:/bin npm --version >/dev/null

# Slim like debian:bookworm-slim: no docs, man pages or apt lists/caches (apt-get update restores lists).
cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/var/lib/apt/lists/"* \
  "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb "$root/var/log/"*.log
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
# podman provides these per container.
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"

log "importing into podman"
tar --numeric-owner --xattrs -C "$root" -cf "$work/rootfs.tar" .
podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'WORKDIR /' \
  --change 'CMD ["node"]' \
  --quiet \
  --message "jitflow test base: debian bookworm minbase, node $node_version, npm $npm_version" \
  "$work/rootfs.tar" "$image" >/dev/null
log "built $image in $((SECONDS - start))s ($(podman image inspect --format '{{.Size}}' "$image") bytes)"
