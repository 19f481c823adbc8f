#!/usr/bin/env bash
# The whole test suite, as the README's test command runs it: unit tier (mocks), then the
# toolchain (built once, cached), a local cluster, the api tier and the e2e tier (real
# `pulumi up`). Ends with one "N passed, N failed" line summing every tier. TIERS="unit" (etc.)
# runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."

tiers=${TIERS:-unit api e2e}
passed=0
failed=0
status=0
log_dir=$(mktemp -d)

# Runs one mocha tier, echoing its output, and adds its counts to the totals.
run_tier() {
    local tier=$1
    shift
    echo "=== ${tier} tier"
    local log="${log_dir}/${tier}.log"
    set +e
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    set -e
    local p f
    p=$(grep -Eo '^ +[0-9]+ passing' "$log" | grep -Eo '[0-9]+' | tail -1 || true)
    f=$(grep -Eo '^ +[0-9]+ failing' "$log" | grep -Eo '[0-9]+' | tail -1 || true)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "$rc" -ne 0 ]; then
        status=1
        # A tier that died before mocha counted anything still counts as a failure.
        [ -n "${f}" ] || failed=$((failed + 1))
    fi
}

needs_cluster=false
for tier in $tiers; do
    case $tier in api | e2e) needs_cluster=true ;; esac
done

for tier in $tiers; do
    if [ "$tier" = unit ]; then
        run_tier unit npx mocha 'test/unit/**/*.test.ts'
    fi
done

if $needs_cluster; then
    # The api tier needs only the cluster and CometBFT; the Pulumi CLI and the Kubernetes
    # provider (the longest builds) only for e2e.
    case " $tiers " in
        *" e2e "*) bash scripts/tools.sh ;;
        *) bash scripts/tools.sh etcd kubernetes provisioner kwok cometbft ;;
    esac
    # shellcheck source=/dev/null
    source scripts/env.sh
    trap 'bash scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
    bash scripts/cluster.sh up
    for tier in $tiers; do
        case $tier in
            api) run_tier api npx mocha --timeout 600000 'test/api/**/*.test.ts' ;;
            e2e) run_tier e2e npx mocha --timeout 1800000 'test/e2e/**/*.test.ts' ;;
        esac
    done
fi

echo
echo "tests: ${passed} passed, ${failed} failed"
exit $status
