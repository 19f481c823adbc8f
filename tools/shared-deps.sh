#!/usr/bin/env bash
# Keeps the Pulumi CLI (tools/pulumi) and the Kubernetes provider (tools/pulumi-kubernetes) on
# the same version of every module that both binaries compile, so that with one Go build cache
# the provider reuses the packages the CLI's build compiled. Go keys a compiled package by its
# sources, flags and the keys of its imports: one module at another version recompiles it and
# everything above it. Both are built with the same tags (scripts/tools.sh) for the same reason.
#
# Usage: tools/shared-deps.sh check   list each module the two compile at different versions
#                                     (exit 1 if any); .ci/run runs it
#        tools/shared-deps.sh align   raise each such module to the higher of the two versions
#                                     in both wrappers (go.mod, go.sum), then check
#
# The Pulumi libraries themselves stay apart (KEEP): the provider at v4.25.0 does not compile
# against pkg/v3 v3.259.0 (pkg/gen/schema.go: codegen/schema's ResourceSpec became a pointer).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export GOFLAGS="-mod=readonly -buildvcs=false"
TAGS=osusergo,grpcnotrace
# wrapper directory under tools/, and the package it builds
CLI=(pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
PROVIDER=(pulumi-kubernetes .)
KEEP=(github.com/pulumi/pulumi/pkg/v3 github.com/pulumi/pulumi/sdk/v3)

die() { printf 'shared-deps: error: %s\n' "$*" >&2; exit 1; }

# "path version[=>replacement@version]" of each module whose packages the build compiles.
# -e: the provider's main embeds files that scripts/tools.sh writes just before it builds, and
# their absence does not change the imports. A list without the Pulumi SDK is an error.
compiled_modules() { # <wrapper> <package>
    local list
    list=$(cd "$ROOT/tools/$1" && go list -e -tags "$TAGS" -deps \
        -f '{{with .Module}}{{.Path}} {{.Version}}{{with .Replace}}=>{{.Path}}@{{.Version}}{{end}}{{end}}' "$2" |
        sort -u)
    grep -q '^github.com/pulumi/pulumi/sdk/v3 ' <<<"$list" ||
        die "go list -deps $2 in tools/$1 did not list github.com/pulumi/pulumi/sdk/v3"
    echo "$list"
}

# "path cli-version provider-version" for each shared module at different versions, KEEP aside.
differences() {
    local cli provider
    cli=$(compiled_modules "${CLI[@]}")
    provider=$(compiled_modules "${PROVIDER[@]}")
    join <(echo "$cli") <(echo "$provider") | awk -v keep=" ${KEEP[*]} " '$2 != $3 && index(keep, " " $1 " ") == 0'
}

check() {
    local diff
    diff=$(differences)
    if [[ -n $diff ]]; then
        printf 'shared-deps: the CLI and the provider compile these modules at different versions\n'
        printf '(module, tools/%s, tools/%s), so the provider cannot reuse their compiled packages:\n' "${CLI[0]}" "${PROVIDER[0]}"
        awk '{ print "  " $0 }' <<<"$diff"
        printf 'run tools/shared-deps.sh align\n'
        return 1
    fi
    echo "shared-deps: tools/${CLI[0]} and tools/${PROVIDER[0]} compile every shared module at one version"
}

# The whole module graph of a wrapper, "path version" (the main module left out).
module_graph() { (cd "$ROOT/tools/$1" && go list -m -f '{{if not .Main}}{{.Path}} {{.Version}}{{end}}' all) | sort; }

align() {
    local tmp round wrapper module edits keep_versions=()
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    # The provider's own Pulumi libraries, restored after each raise.
    for module in "${KEEP[@]}"; do
        keep_versions+=("$module@$(module_graph "${PROVIDER[0]}" | awk -v m="$module" '$1 == m { print $2 }')")
    done
    for round in 1 2 3 4; do
        # Go's own version selection over both graphs gives the higher version of each module.
        module_graph "${CLI[0]}" >"$tmp/cli"
        module_graph "${PROVIDER[0]}" >"$tmp/provider"
        {
            printf 'module merged\n\ngo 1.25\n\nrequire (\n'
            sed 's/^/\t/' "$tmp/cli" "$tmp/provider"
            printf ')\n'
            sed -n '/^replace (/,/^)/p' "$ROOT/tools/${CLI[0]}/go.mod"
        } >"$tmp/go.mod"
        (cd "$tmp" && GOFLAGS=-mod=mod go list -m -f '{{if not .Main}}{{.Path}} {{.Version}}{{end}}' all) | sort >"$tmp/merged"
        for wrapper in "${CLI[0]}" "${PROVIDER[0]}"; do
            edits=$(join "$tmp/$([[ $wrapper == "${CLI[0]}" ]] && echo cli || echo provider)" "$tmp/merged" |
                awk -v keep=" ${KEEP[*]} " '$2 != $3 && index(keep, " " $1 " ") == 0 { print "-require=" $1 "@" $3 }')
            [[ -n $edits ]] || continue
            # shellcheck disable=SC2086  # one -require=... argument per word
            (cd "$ROOT/tools/$wrapper" && go mod edit $edits)
        done
        (cd "$ROOT/tools/${PROVIDER[0]}" && GOFLAGS=-mod=mod go get "${keep_versions[@]}" >/dev/null)
        for wrapper in "${CLI[0]}" "${PROVIDER[0]}"; do
            (cd "$ROOT/tools/$wrapper" && GOFLAGS=-mod=mod go mod tidy)
        done
        [[ -z $(differences) ]] && break
        echo "shared-deps: round $round left differences; again"
    done
    check
}

case "${1:-}" in
check) check ;;
align) align ;;
*) die "usage: tools/shared-deps.sh check|align" ;;
esac
