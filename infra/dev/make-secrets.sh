#!/bin/sh
# Makes the dev stack's secrets (infra/docker-compose.yml) in infra/dev/secrets/, or in DIR when given:
#   nats.env                     NATS_PASSWORD_<ROLE>=... for the nats-server (infra/nats/nats.conf reads them)
#   nats-<role>.password         the same passwords, one file per knp role (KNP_NATS_PASSWORD_FILE)
#   watcher.key / watcher.pub    Ed25519 signing keys (PKCS#8 / SPKI PEM, what `knp keygen` writes)
#   compiler.key / compiler.pub
# Existing files are kept, so running it again changes nothing. Dev only: the files are readable by the
# containers' user (uid 10001), the folder by you alone. Needs openssl.
set -eu
dir=${1:-$(dirname "$0")/secrets}
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 022
for role in init watcher compiler applier operator; do
  # a leading letter: nats-server parses $NATS_PASSWORD_<ROLE> as a config value, and `1e5...` is a number
  [ -s "nats-$role.password" ] || printf 'k%s' "$(openssl rand -hex 24)" > "nats-$role.password"
done
if [ ! -s nats.env ]; then
  for role in init watcher compiler applier operator; do
    printf 'NATS_PASSWORD_%s=%s\n' "$(echo "$role" | tr a-z A-Z)" "$(cat "nats-$role.password")"
  done > nats.env
fi
for signer in watcher compiler; do
  if [ ! -s "$signer.key" ]; then
    openssl genpkey -algorithm ed25519 -out "$signer.key" 2>/dev/null
    openssl pkey -in "$signer.key" -pubout -out "$signer.pub"
    chmod 644 "$signer.key"   # compose bind-mounts secret files as they are; the folder stays yours alone
  fi
done
echo "dev secrets in $(pwd)"
