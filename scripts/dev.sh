#!/usr/bin/env bash
# One entry for both README commands; each does its own set-up on a fresh Debian machine:
#   scripts/dev.sh demo   compile and explain examples/ (the live demo replaces this later)
#   scripts/dev.sh test   the whole test suite (unit, NATS, real kernel in network namespaces)
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() { [ "$(id -u)" = 0 ] || { echo "dev.sh: run as root (the tests program nftables/iptables in network namespaces)" >&2; exit 2; }; }

setup() {
  local missing=()
  command -v nats-server >/dev/null || missing+=(nats-server)
  command -v nft >/dev/null || missing+=(nftables)
  command -v iptables-restore >/dev/null || missing+=(iptables)
  command -v ipset >/dev/null || missing+=(ipset)
  command -v ip >/dev/null || missing+=(iproute2)
  if [ ${#missing[@]} -gt 0 ]; then
    need_root
    echo "dev.sh: installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # Node 20's corepack fails its signature check here; pnpm 12.4.2 from npm is the reliable way.
  if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != 12.4.2 ]; then
    npm i -g pnpm@12.4.2 >/dev/null 2>&1
  fi
  pnpm install --frozen-lockfile --reporter=silent
  pnpm build
}

case "${1:-}" in
  demo)
    setup
    echo "== node-1's rule set (IR) for examples/" && bin/knp compile --manifests examples --node node-1 | head -40 && echo "..."
    echo && bin/knp explain --manifests examples --from frontend/web-1 --to backend/api-2 --port 9000/TCP
    echo && bin/knp explain --manifests examples --from frontend/web-1 --to database/postgres-0 --port 5432/TCP
    echo && bin/knp explain --manifests examples --all-pairs --port 9000/TCP
    ;;
  test)
    need_root
    setup
    node scripts/run-tests.mjs
    ;;
  *) echo "usage: scripts/dev.sh demo|test" >&2; exit 2 ;;
esac
