#!/usr/bin/env bash
# Builds the container image where no container registry can be reached: a Debian base made
# from Debian's packages with debootstrap (the machine's own release and mirror, cached), then
# deploy/Containerfile on it with buildah, then the binary run inside the image to see that it
# starts and answers /readyz. Needs root, buildah, debootstrap and a build of the binary:
#   cargo build --release && bash deploy/build-image.sh [TAG [BINARY]]
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-localhost/hailong:test}"
binary="${2:-target/release/hailong}"
bah() { buildah --storage-driver vfs "$@"; }

suite="$(. /etc/os-release && echo "$VERSION_CODENAME")"
base="localhost/debian-base:$suite"
if ! bah inspect --type image "$base" >/dev/null 2>&1; then
  # The mirror apt already uses on this machine (deb822 or one-line sources).
  mirror="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2; exit}')"
  [ -n "$mirror" ] || mirror="$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2; exit}')"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >/dev/null
  ctr="$(bah from scratch)"
  bah copy "$ctr" "$rootfs/" / >/dev/null
  bah commit --quiet "$ctr" "$base" >/dev/null
  bah rm "$ctr" >/dev/null
fi

bah bud --quiet --isolation chroot --format docker --build-arg "BASE=$base" --build-arg "BINARY=$binary" \
  -f deploy/Containerfile -t "$tag" . >/dev/null
user="$(bah inspect --type image --format '{{.Docker.Config.User}}' "$tag")"
health="$(bah inspect --type image --format '{{.Docker.Config.Healthcheck.Test}}' "$tag")"
size="$(bah images --format '{{.Size}}' "$tag")"
echo "image $tag: $size, user $user, health check $health"
[ "$user" = "10001:10001" ] || { echo "the image must not run as root" >&2; exit 1; }

# The binary starts inside the image: a demo database, then serve, probed through its health check.
ctr="$(bah from "$tag")"
trap 'bah rm "$ctr" >/dev/null 2>&1 || true' EXIT
bah run --isolation chroot "$ctr" -- /usr/local/bin/hailong --version
bah run --isolation chroot "$ctr" -- /usr/local/bin/hailong demo --responses 20 >/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
bah run --isolation chroot --env "HAILONG_BIND=127.0.0.1:$port" --env "HAILONG_METRICS_BIND=127.0.0.1:0" "$ctr" -- /usr/local/bin/hailong serve >/tmp/hailong-image-serve.log 2>&1 &
server=$!
ok=""
for _ in $(seq 1 60); do
  if bah run --isolation chroot "$ctr" -- /usr/local/bin/hailong probe "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.5
done
# A chroot has no process namespace: the service inside is stopped by its port (killing
# buildah alone left it running, holding its ports for the next run).
for pid in $(ss -ltnpH "sport = :$port" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
  kill "$pid" 2>/dev/null || true
done
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
[ -n "$ok" ] || { cat /tmp/hailong-image-serve.log; echo "the service did not become ready inside the image" >&2; exit 1; }
echo "the image runs: /readyz answered 200 inside it"
