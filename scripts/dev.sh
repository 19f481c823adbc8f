#!/usr/bin/env bash
# The main job on a fresh machine (`npm run dev`): install what is missing, build the pinned
# toolchain (cached after the first run), start the local cluster, `pulumi up` the dev stack with a
# local file backend, and print the stack outputs. Re-running it is safe: every step is idempotent,
# and a second `pulumi up` of an unchanged stack changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/tools.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh
bash scripts/cluster.sh up
# The tag the dev stack's bootstrap test follows (Pulumi.dev.yaml), in the cluster's registry.
bash scripts/cluster.sh push cometbft/cometbft:v0.38.19 cometbft/cometbft:v0.38.x \
    org.opencontainers.image.version=v0.38.19

# env.sh points the backend at a local directory and gives the dev stack an empty passphrase:
# the dev stack holds no secrets, and a file backend's secrets provider insists on one.
mkdir -p "${PULUMI_BACKEND_URL#file://}"
pulumi login --non-interactive "$PULUMI_BACKEND_URL" >/dev/null
pulumi stack select --create --non-interactive dev
pulumi up --yes --non-interactive --stack dev
echo
echo "Stack outputs (dev):"
pulumi stack output --stack dev --json
echo
# The dev stack is a real network: its nodes, read through the API server's pod proxy, until every
# one is in sync (height advancing, not catching up, at least one peer).
echo "Nodes (dev):"
npm run -s nodes -- -s dev --wait-in-sync 300
