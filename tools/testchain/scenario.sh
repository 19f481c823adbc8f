#!/usr/bin/env bash
# A real Cosmos SDK governance upgrade with the test chain's binaries as host processes (no
# Kubernetes): the proof that the binaries do what the e2e tier needs, and the source of the
# captured RPC answers in test/testdata/chains/cosmos/.
#
# Usage: tools/testchain/scenario.sh upgrade 047|050 [--capture DIR]
#        tools/testchain/scenario.sh halt 047|050
#   upgrade 047   one validator on testchaind-047-v1; a MsgSoftwareUpgrade "v047-to-v050" at
#                 H = height+20 is proposed and voted through gov; the node halts at H (logs
#                 UPGRADE NEEDED, writes data/upgrade-info.json, does not exit); it is stopped and
#                 restarted on testchaind-050-v2, which applies the upgrade and makes blocks.
#   upgrade 050   the same from testchaind-050-v1 (a v0.50 without the handler).
#   halt 047|050  one validator on the v1 binary started with --halt-height 12: what the process
#                 does (exits or not), /status and /abci_info meanwhile, and the committed heights
#                 after (`testchaind heights`: application.db, blockstore.db, state.db).
#   --capture DIR write the JSON answers of /status, /abci_info and the upgrade module's
#                 CurrentPlan/AppliedPlan queries (abci_query) there, as <line>-<what>.json.
#
# Binaries: $TESTCHAIN_BIN (default: scripts/tools.sh's cache for the current sources).
# Ports: 36100-36199 (047) and 36200-36299 (050), on 127.0.0.1 only. Homes in a temporary
# directory, removed at the end unless KEEP=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"
BIN=${TESTCHAIN_BIN:-$CHAINFLEET_TOOLS/testchain-$CHAINFLEET_TESTCHAIN_KEY/bin}

MODE=${1:?usage: scenario.sh upgrade|halt 047|050 [--capture DIR]}
LINE=${2:?usage: scenario.sh upgrade|halt 047|050 [--capture DIR]}
CAPTURE=
[[ ${3:-} == --capture ]] && CAPTURE=${4:?--capture needs a directory}
case $LINE in
047) OLD=$BIN/testchaind-047-v1 BASE=36100 ;;
050) OLD=$BIN/testchaind-050-v1 BASE=36200 ;;
*) echo "line must be 047 or 050" >&2; exit 2 ;;
esac
NEW=$BIN/testchaind-050-v2
PLAN=v047-to-v050
GOV=cosmos10d07y265gmmuvt4z0w9aw880jnsr700j6zn9kn # the gov module account: the upgrade authority
CHAIN=testchain-$LINE
RPC_PORT=$((BASE + 57))
RPC=http://127.0.0.1:$RPC_PORT
WORK=$(mktemp -d /tmp/testchain-scenario.XXXXXX)
H=$WORK/home
T0=$(date +%s)
PID=

log() { printf '[%3ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
cleanup() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    if [[ ${KEEP:-} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
height() { curl -fsS "$RPC/status" 2>/dev/null | jq -r .result.sync_info.latest_block_height 2>/dev/null || echo 0; }
app_height() { curl -fsS "$RPC/abci_info" 2>/dev/null | jq -r '.result.response.last_block_height // "0"' 2>/dev/null || echo 0; }
wait_height() { # <height> <timeout s>
    local i
    for ((i = 0; i < $2 * 2; i++)); do
        (($(height) >= $1)) && return 0
        sleep 0.5
    done
    log "timeout waiting for height $1 (at $(height)); log tail:"
    tail -n 20 "$WORK/node.log"
    exit 1
}
capture() { # <name> <url path>
    [[ -n $CAPTURE ]] || return 0
    mkdir -p "$CAPTURE"
    curl -fsS "$RPC$2" >"$CAPTURE/$1.json" # as the node writes it (compact)
    log "captured $1.json"
}
start() { # <binary> [args...]
    local bin=$1
    shift
    "$bin" start --home "$H" --log_no_color "$@" >>"$WORK/node.log" 2>&1 &
    PID=$!
    log "started $(basename "$bin") ($("$bin" version)) pid $PID $*"
}
stop() { # SIGTERM; the exit status in STOP_RC
    STOP_RC=0
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" || STOP_RC=$?
    PID=
}
tx() { # <testchaind args...>: a tx from the validator's key, synchronously checked
    local out
    out=$("$OLD" tx "$@" --from val --keyring-backend test --chain-id "$CHAIN" --home "$H" \
        --node "tcp://127.0.0.1:$RPC_PORT" --gas 400000 --yes -o json)
    [[ $(jq -r .code <<<"$out") == 0 ]] || { echo "$out" >&2; exit 1; }
}

# --- a one-validator chain --------------------------------------------------------------------
"$OLD" init val --chain-id "$CHAIN" --home "$H" >/dev/null 2>&1
"$OLD" keys add val --keyring-backend test --home "$H" >/dev/null 2>&1
ADDR=$("$OLD" keys show val -a --keyring-backend test --home "$H")
"$OLD" genesis add-genesis-account "$ADDR" 1000000000000stake --home "$H"
"$OLD" genesis gentx val 1000000000stake --chain-id "$CHAIN" --keyring-backend test --home "$H" >/dev/null 2>&1
"$OLD" genesis collect-gentxs --home "$H" >/dev/null 2>&1
# Short governance: 10s voting (v0.50's expedited period must be shorter still).
jq '.app_state.gov.params.voting_period = "10s" | .app_state.gov.params.max_deposit_period = "10s"
    | if .app_state.gov.params.expedited_voting_period then .app_state.gov.params.expedited_voting_period = "5s" else . end' \
    "$H/config/genesis.json" >"$WORK/genesis.json"
mv "$WORK/genesis.json" "$H/config/genesis.json"
"$OLD" genesis validate-genesis --home "$H" >/dev/null
sed -i -e 's/^timeout_commit = .*/timeout_commit = "1s"/' \
    -e "s|^laddr = \"tcp://127.0.0.1:26657\"|laddr = \"tcp://127.0.0.1:$RPC_PORT\"|" \
    -e "s|^laddr = \"tcp://0.0.0.0:26656\"|laddr = \"tcp://127.0.0.1:$((BASE + 56))\"|" \
    -e "s|^proxy_app = .*|proxy_app = \"tcp://127.0.0.1:$((BASE + 58))\"|" \
    -e 's|^pprof_laddr = .*|pprof_laddr = ""|' "$H/config/config.toml"
sed -i -e "s|localhost:9090|127.0.0.1:$((BASE + 90))|" -e "s|localhost:9091|127.0.0.1:$((BASE + 91))|" \
    -e "s|tcp://localhost:1317|tcp://127.0.0.1:$((BASE + 17))|" "$H/config/app.toml"
log "home $H ready (chain $CHAIN, validator $ADDR)"

if [[ $MODE == halt ]]; then
    HALT=12
    start "$OLD" --halt-height "$HALT"
    for ((i = 0; i < 60; i++)); do
        kill -0 "$PID" 2>/dev/null || break
        (($(height) >= HALT)) && ((i > 10)) && break
        sleep 1
    done
    sleep 5
    if kill -0 "$PID" 2>/dev/null; then
        log "still running 5s after reaching the halt height: /status height $(height), app (abci_info) $(app_height)"
        stop
        log "stopped with SIGTERM: rc $STOP_RC"
    else
        rc=0
        wait "$PID" || rc=$?
        PID=
        log "exited by itself: rc $rc"
    fi
    grep -E "halt|CONSENSUS FAILURE" "$WORK/node.log" | cut -c1-220 | head -n 5
    log "committed heights read offline (testchaind heights): $("$OLD" heights --home "$H")"
    exit 0
fi

# --- the upgrade --------------------------------------------------------------------------------
start "$OLD"
wait_height 3 60
capture "$LINE-status" /status
capture "$LINE-abci_info" /abci_info
capture "$LINE-current_plan-none" '/abci_query?path="/cosmos.upgrade.v1beta1.Query/CurrentPlan"'
NAME_HEX=$(printf '%s' "$PLAN" | od -An -tx1 | tr -d ' \n')
APPLIED_DATA=0x0a$(printf '%02x' ${#PLAN})$NAME_HEX # QueryAppliedPlanRequest{name: PLAN}
capture "$LINE-applied_plan-none" "/abci_query?path=\"/cosmos.upgrade.v1beta1.Query/AppliedPlan\"&data=$APPLIED_DATA"

UPGRADE_HEIGHT=$(($(height) + 20))
cat >"$WORK/proposal.json" <<JSON
{
  "messages": [{
    "@type": "/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade",
    "authority": "$GOV",
    "plan": {"name": "$PLAN", "height": "$UPGRADE_HEIGHT", "info": ""}
  }],
  "metadata": "",
  "deposit": "10000000stake",
  "title": "$PLAN",
  "summary": "upgrade to the v0.50 test chain"
}
JSON
tx gov submit-proposal "$WORK/proposal.json"
log "proposed $PLAN at height $UPGRADE_HEIGHT"
for ((i = 0; i < 20; i++)); do
    "$OLD" query gov proposal 1 --node "tcp://127.0.0.1:$RPC_PORT" -o json >/dev/null 2>&1 && break
    sleep 0.5
done
tx gov vote 1 yes
log "voted yes"
for ((i = 0; i < 60; i++)); do
    status=$("$OLD" query gov proposal 1 --node "tcp://127.0.0.1:$RPC_PORT" -o json | jq -r '.status // .proposal.status')
    [[ $status == PROPOSAL_STATUS_PASSED || $status == 3 ]] && break
    sleep 1
done
log "proposal 1: $status at height $(height)"
"$OLD" query upgrade plan --node "tcp://127.0.0.1:$RPC_PORT" -o json | tr -d '\n'; echo
capture "$LINE-current_plan" '/abci_query?path="/cosmos.upgrade.v1beta1.Query/CurrentPlan"'

for ((i = 0; i < 90; i++)); do
    grep -q "UPGRADE \"$PLAN\" NEEDED" "$WORK/node.log" && break
    sleep 1
done
grep -q "UPGRADE \"$PLAN\" NEEDED" "$WORK/node.log" || { log "no UPGRADE NEEDED"; tail -n 20 "$WORK/node.log"; exit 1; }
sleep 3
log "halted: $(grep -o "UPGRADE \"$PLAN\" NEEDED at height: [0-9]*" "$WORK/node.log" | head -n 1); /status $(height), app $(app_height); upgrade-info.json: $(cat "$H/data/upgrade-info.json")"
capture "$LINE-status-halted" /status
if kill -0 "$PID" 2>/dev/null; then
    stop
    log "the process was still running (as expected); SIGTERM: rc $STOP_RC"
fi

start "$NEW"
wait_height $((UPGRADE_HEIGHT + 3)) 120
log "upgraded: $(grep -o "applying upgrade \"$PLAN\" at height: [0-9]*" "$WORK/node.log" | head -n 1); height $(height)"
grep -q "adding a new module: circuit" "$WORK/node.log" && log "circuit store added"
"$NEW" query upgrade applied "$PLAN" --node "tcp://127.0.0.1:$RPC_PORT" -o json | tr -d '\n'; echo
"$NEW" query upgrade module-versions --node "tcp://127.0.0.1:$RPC_PORT" -o json | jq -c '[.module_versions[] | "\(.name)=\(.version)"]'
capture "$LINE-upgraded-status" /status
capture "$LINE-upgraded-abci_info" /abci_info
capture "$LINE-upgraded-current_plan-none" '/abci_query?path="/cosmos.upgrade.v1beta1.Query/CurrentPlan"'
capture "$LINE-upgraded-applied_plan" "/abci_query?path=\"/cosmos.upgrade.v1beta1.Query/AppliedPlan\"&data=$APPLIED_DATA"
stop
log "SIGTERM: rc $STOP_RC; scenario $MODE $LINE done in $(($(date +%s) - T0))s"
