#!/usr/bin/env bash
# One entry for both README commands; each does its own set-up on a fresh Debian machine:
#   scripts/dev.sh demo   the live demo: the whole pipeline on a simulated two-node cluster (bin/knp demo)
#   scripts/dev.sh test   the whole test suite (unit, NATS, real kernel in network namespaces)
set -euo pipefail
cd "$(dirname "$0")/.."

# Node 24 LTS, as a binary inside npm's node-linux-<arch> package (Node 20, on the image, reached end of life
# in April 2026). Installed into .tools/node; bin/knp and this script use it.
NODE_VERSION=24.22.3

need_root() { [ "$(id -u)" = 0 ] || { echo "dev.sh: run as root (the tests program nftables/iptables in network namespaces)" >&2; exit 2; }; }

ensure_node() {
  if [ ! -x .tools/node/bin/node ] || [ "$(.tools/node/bin/node --version)" != "v$NODE_VERSION" ]; then
    local arch
    case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "dev.sh: no Node.js package for $(uname -m)" >&2; exit 2 ;; esac
    command -v npm >/dev/null || { echo "dev.sh: npm is needed to fetch Node.js $NODE_VERSION" >&2; exit 2; }
    echo "dev.sh: installing Node.js $NODE_VERSION into .tools/node" >&2
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null && tar xzf node-linux-*.tgz)
    rm -rf .tools/node && mkdir -p .tools && mv "$tmp/package" .tools/node && rm -rf "$tmp"
  fi
  export PATH="$PWD/.tools/node/bin:$PATH"
}

setup() {
  local missing=()
  command -v nats-server >/dev/null || missing+=(nats-server)
  command -v nft >/dev/null || missing+=(nftables)
  command -v iptables-restore >/dev/null || missing+=(iptables)
  command -v ipset >/dev/null || missing+=(ipset)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v npm >/dev/null || missing+=(npm)   # fetches Node 24 and pnpm; Debian's npm brings a Node of its own
  command -v openssl >/dev/null || missing+=(openssl)   # infra/dev/make-secrets.sh (tested in test/infra-compose)
  # `docker-compose config -q` checks infra/docker-compose.yml (Debian's 1.29, no daemon needed); without
  # its recommends, which would bring a whole Docker engine
  local lean=()
  command -v docker-compose >/dev/null || lean+=(docker-compose)
  if [ $((${#missing[@]} + ${#lean[@]})) -gt 0 ]; then
    need_root
    echo "dev.sh: installing ${missing[*]} ${lean[*]}" >&2
    apt-get update -qq >/dev/null
    [ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    [ ${#lean[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
  fi
  ensure_node
  # corepack's signature check fails here; pnpm 12.4.2 from npm is the reliable way (it runs on the Node above)
  if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != 12.4.2 ]; then
    npm i -g pnpm@12.4.2 >/dev/null 2>&1
  fi
  pnpm install --frozen-lockfile --reporter=silent
  pnpm build
}

case "${1:-}" in
  demo)
    setup
    shift
    exec bin/knp demo "$@"
    ;;
  test)
    need_root
    setup
    node scripts/run-tests.mjs
    ;;
  *) echo "usage: scripts/dev.sh demo|test" >&2; exit 2 ;;
esac
