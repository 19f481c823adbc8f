# shellcheck shell=bash
# Environment for the pinned toolchain and the local cluster. Two ways to use it:
#   . scripts/env.sh              (bash or zsh) sets the variables in the current shell;
#   scripts/env.sh CMD [ARGS...]  runs CMD with them, e.g. in npm scripts.
# It only sets variables (no builds, no network); scripts/tools.sh builds what it points at.
#
# What it sets:
#   CHAINFLEET_ROOT        this checkout
#   CHAINFLEET_CACHE       ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}: tools, cluster state
#   CHAINFLEET_TOOLS       $CHAINFLEET_CACHE/tools: one <piece>-<key>/bin per tool
#   CHAINFLEET_<PIECE>_KEY the cache keys: <version>-<hash of the wrapper module>, or for our
#                          own Go code (PROVISIONER, TESTCHAIN) a hash of its sources
#   PATH                   + those bin dirs (first, so they win over anything installed)
#   PULUMI_HOME            $CHAINFLEET_CACHE/pulumi-home: plugins (kubernetes), credentials
#   PULUMI_SKIP_UPDATE_CHECK, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true: never go online
#   PULUMI_BACKEND_URL     default file://$CHAINFLEET_CACHE/pulumi-backend (kept if already set)
#   PULUMI_CONFIG_PASSPHRASE  default "" (kept if it or PULUMI_CONFIG_PASSPHRASE_FILE is set)
#   KUBECONFIG             $CHAINFLEET_CACHE/cluster/kubeconfig (the local cluster's admin)
#   CHAINFLEET_CLUSTER_DIR, CHAINFLEET_APISERVER_URL and the cluster's ports (see cluster.sh)

# Find the checkout: from this file when sourced by bash or zsh, else CHAINFLEET_ROOT or $PWD.
if [ -n "${BASH_VERSION:-}" ]; then
    _cf_self=${BASH_SOURCE[0]}
elif [ -n "${ZSH_VERSION:-}" ]; then
    # shellcheck disable=SC2296  # zsh-only expansion: the path of the file being sourced
    _cf_self=${(%):-%x}
else
    _cf_self=${CHAINFLEET_ROOT:-$PWD}/scripts/env.sh
fi
CHAINFLEET_ROOT=$(cd "$(dirname "$_cf_self")/.." && pwd)
export CHAINFLEET_ROOT

# shellcheck source=tools/versions.sh
. "$CHAINFLEET_ROOT/tools/versions.sh"

export CHAINFLEET_CACHE="${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}"
export CHAINFLEET_TOOLS="$CHAINFLEET_CACHE/tools"

# Each release piece's cache key: its version in tools/versions.sh and a hash of the go.mod and
# go.sum of the wrapper module it is built in, so that a dependency change at the same version
# (tools/shared-deps.sh align) is a new build rather than a stale one reused.
_cf_key() { # <version> <wrapper directory under tools/>
    printf '%s-%s' "$1" "$(cat "$CHAINFLEET_ROOT/tools/$2/go.mod" "$CHAINFLEET_ROOT/tools/$2/go.sum" |
        sha256sum | cut -c1-8)"
}
# etcd, kwok and coredns are built in the kubernetes wrapper (they share its compiled packages).
CHAINFLEET_ETCD_KEY=$(_cf_key "$ETCD_VERSION" kubernetes)
CHAINFLEET_KUBERNETES_KEY=$(_cf_key "$KUBERNETES_VERSION" kubernetes) # pieces kubernetes, kubelet
CHAINFLEET_KWOK_KEY=$(_cf_key "$KWOK_VERSION" kubernetes)
CHAINFLEET_PULUMI_KEY=$(_cf_key "$PULUMI_VERSION" pulumi)
CHAINFLEET_PULUMI_LANGUAGE_NODEJS_KEY=$(_cf_key "$PULUMI_LANGUAGE_NODEJS_VERSION" pulumi-language-nodejs)
CHAINFLEET_PULUMI_KUBERNETES_KEY=$(_cf_key "$PULUMI_KUBERNETES_VERSION" pulumi-kubernetes)
CHAINFLEET_COMETBFT_KEY=$(_cf_key "$COMETBFT_VERSION" cometbft)
CHAINFLEET_COREDNS_KEY=$(_cf_key "$COREDNS_VERSION" kubernetes)
export CHAINFLEET_ETCD_KEY CHAINFLEET_KUBERNETES_KEY CHAINFLEET_KWOK_KEY CHAINFLEET_PULUMI_KEY \
    CHAINFLEET_PULUMI_LANGUAGE_NODEJS_KEY CHAINFLEET_PULUMI_KUBERNETES_KEY CHAINFLEET_COMETBFT_KEY \
    CHAINFLEET_COREDNS_KEY
unset -f _cf_key

# The provisioner is this project's own code (tools/kubernetes/provisioner), so its cache key
# is a hash of its sources and of the wrapper's go.sum rather than a release version.
CHAINFLEET_PROVISIONER_KEY=$(cat "$CHAINFLEET_ROOT"/tools/kubernetes/provisioner/*.go \
    "$CHAINFLEET_ROOT/tools/kubernetes/go.sum" | sha256sum | cut -c1-12)
export CHAINFLEET_PROVISIONER_KEY
# The test chain (tools/testchain, also ours): a hash of its two modules' go.mod, go.sum and Go
# sources, names included (scripts/tools.sh piece testchain, scripts/images.sh testchain-*).
CHAINFLEET_TESTCHAIN_KEY=$(cd "$CHAINFLEET_ROOT/tools/testchain" &&
    sha256sum v047/go.mod v047/go.sum v047/*.go v050/go.mod v050/go.sum v050/*.go | sha256sum | cut -c1-12)
export CHAINFLEET_TESTCHAIN_KEY

export CHAINFLEET_PULUMI_BIN="$CHAINFLEET_TOOLS/pulumi-$CHAINFLEET_PULUMI_KEY/bin"
# Not the Kubernetes provider's bin dir: tools.sh installs that plugin into $PULUMI_HOME, and
# the CLI warns about every plugin it finds on PATH instead.
for _cf_dir in \
    "$CHAINFLEET_TOOLS/testchain-$CHAINFLEET_TESTCHAIN_KEY/bin" \
    "$CHAINFLEET_TOOLS/coredns-$CHAINFLEET_COREDNS_KEY/bin" \
    "$CHAINFLEET_TOOLS/cometbft-$CHAINFLEET_COMETBFT_KEY/bin" \
    "$CHAINFLEET_TOOLS/pulumi-language-nodejs-$CHAINFLEET_PULUMI_LANGUAGE_NODEJS_KEY/bin" \
    "$CHAINFLEET_PULUMI_BIN" \
    "$CHAINFLEET_TOOLS/kwok-$CHAINFLEET_KWOK_KEY/bin" \
    "$CHAINFLEET_TOOLS/kubelet-$CHAINFLEET_KUBERNETES_KEY/bin" \
    "$CHAINFLEET_TOOLS/provisioner-$CHAINFLEET_PROVISIONER_KEY/bin" \
    "$CHAINFLEET_TOOLS/kubernetes-$CHAINFLEET_KUBERNETES_KEY/bin" \
    "$CHAINFLEET_TOOLS/etcd-$CHAINFLEET_ETCD_KEY/bin"; do
    # Prepend once, so sourcing this file again does not grow PATH.
    case ":$PATH:" in
    *":$_cf_dir:"*) ;;
    *) PATH="$_cf_dir:$PATH" ;;
    esac
done
export PATH

# Pulumi: a home of its own under the cache (plugins installed by tools.sh), nothing online.
export PULUMI_HOME="$CHAINFLEET_CACHE/pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$CHAINFLEET_CACHE/pulumi-backend}"
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    export PULUMI_CONFIG_PASSPHRASE=""
fi

# The local cluster (scripts/cluster.sh): every component listens on 127.0.0.1 only, on
# fixed ports chosen away from the components' defaults so a real cluster or another tool
# on this machine does not collide with them. Each can be overridden (set it before this
# file is sourced), e.g. to run a second cluster with its own CHAINFLEET_CACHE beside the first.
export CHAINFLEET_CLUSTER_DIR="$CHAINFLEET_CACHE/cluster"
export CHAINFLEET_ETCD_PORT="${CHAINFLEET_ETCD_PORT:-12379}"                           # etcd clients
export CHAINFLEET_ETCD_PEER_PORT="${CHAINFLEET_ETCD_PEER_PORT:-12380}"                 # etcd peers
export CHAINFLEET_APISERVER_PORT="${CHAINFLEET_APISERVER_PORT:-16443}"                 # kube-apiserver (HTTPS)
export CHAINFLEET_CONTROLLER_MANAGER_PORT="${CHAINFLEET_CONTROLLER_MANAGER_PORT:-20257}" # health (HTTPS)
export CHAINFLEET_SCHEDULER_PORT="${CHAINFLEET_SCHEDULER_PORT:-20259}"                 # health (HTTPS)
export CHAINFLEET_KWOK_PORT="${CHAINFLEET_KWOK_PORT:-20247}"                           # kwok health (HTTP)
export CHAINFLEET_APISERVER_URL="https://127.0.0.1:$CHAINFLEET_APISERVER_PORT"
export KUBECONFIG="$CHAINFLEET_CLUSTER_DIR/kubeconfig"

unset _cf_self _cf_dir

# Executed rather than sourced: run the given command in this environment.
if [ -n "${BASH_VERSION:-}" ] && [ "${BASH_SOURCE[0]}" = "$0" ] && [ "$#" -gt 0 ]; then
    exec "$@"
fi
