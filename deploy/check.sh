#!/usr/bin/env bash
# Checks every recipe of deploy/ (run by .ci/run, as root): the systemd unit with
# systemd-analyze, the Kubernetes manifests with kubernetes-validate, the Caddyfile with caddy,
# the compose file's shape, and the container image built and started (deploy/build-image.sh,
# with a stripped copy of BINARY, by default the debug build the tests made).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-target/debug/hailong}"
need() { command -v "$1" >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq "$2" >/dev/null; }; }
need systemd-analyze systemd
need caddy caddy
need buildah buildah
need debootstrap debootstrap
command -v kubernetes-validate >/dev/null || pip install -q kubernetes-validate

echo "-- systemd unit"
unit="$(mktemp -d)/hailong.service"
sed "s|/usr/local/bin/hailong|$(realpath "$binary")|" deploy/systemd/hailong.service > "$unit"
systemd-analyze verify "$unit"
systemd-analyze security --offline=true --threshold=20 "$unit" | tail -n 1

echo "-- Kubernetes manifests"
kubernetes-validate --strict --quiet deploy/kubernetes/*.yaml

echo "-- compose file and its Caddyfile"
SITE_ADDRESS=danhgia.example.org caddy adapt --config deploy/compose/Caddyfile --adapter caddyfile >/dev/null
python3 - <<'PY'
import yaml
c = yaml.safe_load(open("deploy/compose/compose.yaml"))
services = c["services"]
apps = [n for n in services if n.startswith("hailong-")]
assert len(apps) >= 2, "two hailong instances"
for n in apps:
    s = {**c["x-hailong"], **services[n]} if "<<" not in services[n] else services[n]
    assert "healthcheck" in s and "readyz" in " ".join(s["healthcheck"]["test"]), n
assert "caddy" in services and "postgres" in services
assert "healthcheck" in services["postgres"]
print("compose: " + ", ".join(sorted(services)))
PY

echo "-- container image"
mkdir -p target/image
cp "$binary" target/image/hailong
strip target/image/hailong
bash deploy/build-image.sh localhost/hailong:ci target/image/hailong
