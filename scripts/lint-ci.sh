#!/usr/bin/env bash
# Lints the deploy pipelines users copy from examples/ci/:
#   - examples/ci/github-actions.yml with actionlint (built from the Go module proxy through the
#     wrapper module tools/actionlint/, cached like the other tools);
#   - examples/ci/gitlab-ci.yml against GitLab's CI JSON schema (scripts/lint-gitlab-ci.ts).
#
# Usage: scripts/lint-ci.sh [--build-only]
#   --build-only  build (or find) actionlint and print its path; lint nothing.
#
# actionlint is built once into ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/tools/actionlint-<version>/bin,
# the same layout as scripts/tools.sh uses: the directory name is the cache key, and a build goes
# to a temporary directory renamed only when complete, so an interrupted build is never reused.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Keep equal to the version tools/actionlint/go.mod requires (checked below).
ACTIONLINT_VERSION=v1.7.12
CACHE=${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}
TOOL_DIR=$CACHE/tools/actionlint-$ACTIONLINT_VERSION
ACTIONLINT=$TOOL_DIR/bin/actionlint

log() { printf 'lint-ci: %s\n' "$*"; }
die() { printf 'lint-ci: error: %s\n' "$*" >&2; exit 1; }

build_actionlint() {
    command -v go >/dev/null || die "go is not on PATH (expected Go >= 1.25 at /usr/local/go/bin); it builds actionlint"
    # The cache key is this script's version; the wrapper's go.mod decides what is built. If
    # they disagree the cache directory would be named after a version it does not hold.
    grep -Eq "^[[:space:]]*(require[[:space:]]+)?github.com/rhysd/actionlint[[:space:]]+$ACTIONLINT_VERSION([[:space:]]|$)" \
        "$ROOT/tools/actionlint/go.mod" ||
        die "tools/actionlint/go.mod does not require github.com/rhysd/actionlint $ACTIONLINT_VERSION (ACTIONLINT_VERSION in scripts/lint-ci.sh); keep them in sync"
    mkdir -p "$CACHE/tools"
    local tmp
    tmp=$(mktemp -d "$CACHE/tools/.actionlint-build.XXXXXX")
    log "building actionlint $ACTIONLINT_VERSION into $TOOL_DIR"
    local started=$SECONDS
    # readonly: the committed go.sum is the source of truth; no go.mod edits during a lint.
    (cd "$ROOT/tools/actionlint" &&
        GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" \
            -o "$tmp/bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint) || {
        rm -rf "$tmp"
        die "building actionlint failed (see above); the Go module proxy must serve github.com/rhysd/actionlint $ACTIONLINT_VERSION"
    }
    rm -rf "$TOOL_DIR"
    mv "$tmp" "$TOOL_DIR"
    log "built actionlint in $((SECONDS - started))s"
}

[ -x "$ACTIONLINT" ] || build_actionlint
if [ "${1:-}" = "--build-only" ]; then
    echo "$ACTIONLINT"
    exit 0
fi

cd "$ROOT"
log "actionlint $("$ACTIONLINT" -version | head -n 1): examples/ci/github-actions.yml"
# actionlint checks `run:` scripts with shellcheck when it is on PATH, and silently skips them
# otherwise: say which.
if command -v shellcheck >/dev/null; then
    log "run: scripts checked with $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"
else
    log "shellcheck not found: run: scripts are not checked (apt-get install shellcheck)"
fi
"$ACTIONLINT" -no-color examples/ci/github-actions.yml
log "GitLab CI schema: examples/ci/gitlab-ci.yml"
node -r ts-node/register/transpile-only scripts/lint-gitlab-ci.ts examples/ci/gitlab-ci.yml
log "ok"
