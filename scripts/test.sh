#!/usr/bin/env bash
# The whole test suite, as the README's test command runs it: unit tier (mocks), then the
# in-pod agent's Go tests, the toolchain (built once, cached, in the background from the start),
# a local cluster, the api tier and the e2e tier (real `pulumi up`; the real hard fork last).
# Ends with one "N passed, N failed" line summing every tier. TIERS="unit" (etc.) runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."

tiers=${TIERS:-unit go api e2e}
# The only e2e file that needs the test chain (tools/testchain): it runs after the others.
REALFORK_TEST=test/e2e/realfork.test.ts
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

# The in-pod agent (node-agent/, Go): its own tests, the real-CometBFT one included, which must
# run here rather than skip (CHAINFLEET_REQUIRE_REAL). Counts top-level tests.
run_go_tier() {
    echo "=== go tier (node-agent)"
    bash scripts/tools.sh cometbft
    local log="${log_dir}/go.log" rc p f
    set +e
    (cd node-agent && COMETBFT_BIN=$(bash ../scripts/env.sh sh -c 'command -v cometbft') \
        CHAINFLEET_REQUIRE_REAL=1 go test -count=1 -v ./...) 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    p=$(grep -c '^--- PASS' "$log" || true)
    f=$(grep -c '^--- FAIL' "$log" || true)
    echo "go tier: ${p} passed, ${f} failed"
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ]; then
        status=1
        [ "$f" -gt 0 ] || failed=$((failed + 1))
    fi
}

# Cold, building the toolchain is most of a run: CPU-bound Go builds on 2 cores, while the
# tiers mostly wait on nodes and pods. So the builds start at once, in three background streams,
# and overlap the tiers instead of preceding them. Their priorities follow when each is needed:
#  - the cluster's pieces (nice 5), and CometBFT first, for the go tier;
#  - Pulumi's pieces (nice 10), which only e2e needs;
#  - the test chain (nice 19), which only e2e's real hard fork needs: that file runs last, so the
#    chain builds in whatever CPU the others leave, until then.
# A cold run measured with the test chain ahead of Pulumi's pieces (2026-12-07): it was done in
# 17 min, but the e2e tier waited for Pulumi. Go builds leave a core idle for long stretches
# (links, long dependency chains), so three streams fill it better than one.
# Each step below still calls tools.sh for what it needs: it waits while a piece is being built
# (one build per piece at a time) and finds it done, or builds it (with its error) if the
# background build failed. .ci/run starts the same streams earlier, before its static checks.
# The streams stay in this session: with the kernel's autogroup scheduling (on by default), a
# new session (setsid) would get an equal share of the CPU whatever its nice value, and the
# first cold run measured so had the tiers and all three streams at one quarter each.
start_background_builds() {
    local logs=$1
    nice -n 5 bash scripts/tools.sh cometbft etcd kubernetes provisioner kubelet kwok coredns \
        >"$logs/cluster-build.log" 2>&1 &
    build_pids+=($!)
    case " $tiers " in
        *" e2e "*)
            nice -n 10 bash scripts/tools.sh pulumi pulumi-language-nodejs pulumi-kubernetes \
                >"$logs/pulumi-build.log" 2>&1 &
            build_pids+=($!)
            nice -n 19 bash scripts/tools.sh testchain >"$logs/testchain-build.log" 2>&1 &
            testchain_pid=$!
            build_pids+=($!)
            ;;
    esac
}
# Stops a process and everything it started (a stream, its go build, the compiler).
# shellcheck disable=SC2317  # called from the EXIT traps
kill_tree() {
    local child
    for child in $(pgrep -P "$1"); do kill_tree "$child"; done
    kill "$1" 2>/dev/null || true
}
# shellcheck disable=SC2317
stop_background_builds() {
    local pid
    for pid in "${build_pids[@]}"; do kill_tree "$pid"; done
}
build_pids=()
testchain_pid=
testchain_log="${log_dir}/testchain-build.log"

# `test.sh --start-builds <dir>` (.ci/run): start the streams, logging into <dir>, print their
# process ids and return (they go on, children of init). `test.sh --stop-builds <pid>...` stops
# them with what they started.
case "${1:-}" in
    --start-builds)
        rmdir "$log_dir"
        $needs_cluster || exit 0
        start_background_builds "$2"
        echo "${build_pids[*]}"
        exit 0
        ;;
    --stop-builds)
        rmdir "$log_dir"
        shift
        build_pids=("$@")
        stop_background_builds
        exit 0
        ;;
esac
if $needs_cluster; then
    start_background_builds "$log_dir"
    trap stop_background_builds EXIT
fi

for tier in $tiers; do
    case $tier in
        unit) run_tier unit npx mocha 'test/unit/**/*.test.ts' ;;
        go) run_go_tier ;;
    esac
done

if $needs_cluster; then
    # The api tier needs only the cluster and CometBFT; the Pulumi CLI and the Kubernetes
    # provider (the longest builds) only for e2e.
    bash scripts/tools.sh etcd kubernetes provisioner kwok kubelet coredns cometbft
    # The cluster's real node runs the real-pod tests; as root (CI) it is there, and a test
    # that finds it missing fails instead of skipping. CHAINFLEET_REAL_NODE=0 opts out.
    if [ "${CHAINFLEET_REAL_NODE:-1}" != 0 ] && [ "$(id -u)" -eq 0 ]; then
        export CHAINFLEET_REQUIRE_REAL=1
    else
        export CHAINFLEET_REAL_NODE=0
    fi
    # shellcheck source=/dev/null
    source scripts/env.sh
    trap 'stop_background_builds; bash scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
    bash scripts/cluster.sh up
    for tier in $tiers; do
        case $tier in
            api) run_tier api npx mocha --timeout 600000 'test/api/**/*.test.ts' ;;
            e2e)
                # Pulumi's pieces, built in the background.
                bash scripts/tools.sh
                # Every e2e file but the real hard fork, while the test chain still builds.
                run_tier e2e npx mocha --timeout 1800000 --ignore "$REALFORK_TEST" 'test/e2e/**/*.test.ts'
                echo "=== test chain (background build)"
                if ! wait "$testchain_pid"; then
                    cat "$testchain_log"
                    echo "the test chain did not build: the real hard-fork e2e tests will fail" >&2
                fi
                tail -n 5 "$testchain_log"
                bash scripts/images.sh import testchain-047-v1 testchain-050-v2 testchain-050-v1 || true
                run_tier "e2e (real hard fork)" npx mocha --timeout 1800000 "$REALFORK_TEST"
                ;;
        esac
    done
fi

if $needs_cluster; then
    echo "=== background builds"
    grep -hE 'built in|: error|done in' "${log_dir}"/*-build.log || true
fi
echo
echo "tests: ${passed} passed, ${failed} failed"
exit $status
