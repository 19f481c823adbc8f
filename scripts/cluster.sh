#!/usr/bin/env bash
# A local Kubernetes cluster for the api and e2e tiers: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok (fake nodes) and chainfleet-provisioner
# (PersistentVolumes for claims), all as plain processes, plus one real node
# (scripts/cluster/node.sh: containerd, kubelet, kube-proxy, CoreDNS) whose pods run for real.
# On kwok's nodes pods only exist as API objects, which kwok moves to Running/Ready (Job pods
# to Succeeded) per scripts/cluster/kwok-stages.yaml; the real node is tainted, so only pods
# that tolerate chainfleet.io/real-node go there. Nothing is pulled: scripts/images.sh builds
# the images the real node runs.
#
# Usage: scripts/cluster.sh up|down|status|reset|smoke|push   (npm run cluster:up / cluster:down)
#   up      build the missing tools (scripts/tools.sh), start what is not running, and return
#           once the API server is healthy, the nodes are Ready and the default
#           ServiceAccount exists. Running it again is harmless.
#   down    stop every process this script started (TERM, then KILL after 15 s); state stays.
#   status  show each component's process and health; exit 1 unless all are up.
#   reset   down, then delete the cluster's state (etcd data, certificates, logs).
#   smoke   check that StatefulSet pods run with Bound volumes and Jobs complete or fail.
#   push <image> <repo:tag> [label=value...]
#           push an image the real node holds to its registry (10.244.0.1:20500) as <repo:tag>,
#           labels added to its config, and print it by digest: the tags bootstrap tests
#           follow (Pulumi.dev.yaml's).
#
# State and logs: $CHAINFLEET_CACHE/cluster/ (default ~/.cache/chainfleet/cluster/):
#   kubeconfig (admin, also exported by scripts/env.sh), pki/, etcd/, logs/<component>.log,
#   run/<component>.pid.
# Ports, all on 127.0.0.1 and away from the components' defaults (scripts/env.sh; each can be
# overridden with its CHAINFLEET_*_PORT variable): etcd 12379 (peer 12380), kube-apiserver
# 16443, kube-controller-manager 20257, kube-scheduler 20259, kwok 20247.
# The real node adds the kubelet (20250 on 10.244.0.1; health 20248), kube-proxy (20256, 20249)
# CoreDNS (53 on 10.244.0.1; 20280, 20281) and a registry (20500 on 10.244.0.1); the API server then listens on every address,
# so that pods reach it at 10.244.0.1.
# Knobs: CHAINFLEET_KWOK_NODES (fake nodes, default 3), CHAINFLEET_CLUSTER_TIMEOUT (seconds
# `up` waits for each step, default 180), CHAINFLEET_REAL_NODE=0 (no real node: no root needed).

# Some functions below are only called indirectly (wait_for <command>).
# shellcheck disable=SC2317
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"

DIR=$CHAINFLEET_CLUSTER_DIR
PKI=$DIR/pki
RUN=$DIR/run
LOGS=$DIR/logs
NODES=${CHAINFLEET_KWOK_NODES:-3}
TIMEOUT=${CHAINFLEET_CLUSTER_TIMEOUT:-180}
SERVICE_CIDR=10.96.0.0/16 # the API server's Service IPs; 10.96.0.1 is "kubernetes"
POD_CIDR=10.250.0.0/16    # kwok hands pod IPs out of this range (nothing routes to them)
STORAGE_CLASS=chainfleet-local
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok provisioner)

# shellcheck source=scripts/cluster/node.sh
. "$ROOT/scripts/cluster/node.sh"

log() { printf 'cluster: %s\n' "$*"; }
# The comment block at the top of this file is its help text.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }

# --- processes ---------------------------------------------------------------------------

binary_of() { # the executable a component runs
    case "$1" in
    provisioner) command -v chainfleet-provisioner ;;
    *) command -v "$1" ;;
    esac
}

# alive <pid>: the process exists and has not exited. An exited process stays a zombie until
# its parent reaps it, and the processes started here are reparented to init once `up`
# returns, which on some machines reaps only every few seconds: kill -0 would still succeed.
alive() {
    local state
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# pid_of <component>: prints the pid if the process recorded for it is alive and still runs
# that component's program (a stale pid file may name a reused pid).
pid_of() {
    local pidfile="$RUN/$1.pid" pid exe name
    [[ -f "$pidfile" ]] || return 1
    pid=$(<"$pidfile")
    [[ -n "$pid" ]] && alive "$pid" || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    name=$(basename "${exe% (deleted)}")
    case "$1" in
    provisioner) [[ $name == chainfleet-provisioner ]] ;;
    *) [[ $name == "$1" ]] ;;
    esac && echo "$pid"
}

# Cluster components whose pid files are gone (e.g. someone deleted run/): one of our
# component programs from the tools cache, with this cluster directory in its arguments.
# (Not every program with $DIR in its arguments: a `kubectl --kubeconfig …` is not ours.)
strays() {
    local p exe
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2>/dev/null) || continue
        exe=${exe% (deleted)} # a rebuilt binary
        case "$exe" in
        "$CHAINFLEET_TOOLS"/*/bin/etcd | "$CHAINFLEET_TOOLS"/*/bin/kube-apiserver | \
            "$CHAINFLEET_TOOLS"/*/bin/kube-controller-manager | "$CHAINFLEET_TOOLS"/*/bin/kube-scheduler | \
            "$CHAINFLEET_TOOLS"/*/bin/kwok | "$CHAINFLEET_TOOLS"/*/bin/chainfleet-provisioner | \
            "$CHAINFLEET_TOOLS"/*/bin/kubelet | "$CHAINFLEET_TOOLS"/*/bin/kube-proxy | \
            "$CHAINFLEET_TOOLS"/*/bin/coredns | */containerd | */docker-registry) ;;
        *) continue ;;
        esac
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$DIR/" && echo "${p#/proc/}"
    done
}

ports_of() { # the loopback ports a component listens on
    case "$1" in
    etcd) echo "$CHAINFLEET_ETCD_PORT $CHAINFLEET_ETCD_PEER_PORT" ;;
    kube-apiserver) echo "$CHAINFLEET_APISERVER_PORT" ;;
    kube-controller-manager) echo "$CHAINFLEET_CONTROLLER_MANAGER_PORT" ;;
    kube-scheduler) echo "$CHAINFLEET_SCHEDULER_PORT" ;;
    kwok) echo "$CHAINFLEET_KWOK_PORT" ;;
    kubelet) echo "$KUBELET_HEALTHZ_PORT" ;;
    kube-proxy) echo "$KUBE_PROXY_HEALTHZ_PORT $KUBE_PROXY_METRICS_PORT" ;;
    coredns) echo "$COREDNS_HEALTH_PORT $COREDNS_READY_PORT" ;;
    esac
}

# start <component> <args...>: run it detached (own session, so closing the terminal or
# Ctrl-C on `npm run` does not kill it), output to logs/<component>.log.
start() {
    local name=$1 bin
    shift
    if pid_of "$name" >/dev/null; then
        log "$name: already running (pid $(pid_of "$name"))"
        return
    fi
    bin=$(binary_of "$name") || die "$name not found on PATH; run scripts/tools.sh"
    local port
    for port in $(ports_of "$name"); do
        # Something else answers there (another cluster, another tool): starting ours would
        # only fail, or worse, the health checks would talk to the other one.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            die "127.0.0.1:$port, needed by $name, is in use by another process"
        fi
    done
    log "$name: starting ($bin)"
    # No job control in a script, so the background job is not a group leader and setsid
    # replaces itself with the program: $! is the program's pid.
    setsid "$bin" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

stop_pids() { # stop_pids <label> <pid...>: TERM, wait up to 15 s, then KILL
    local label=$1 pid i
    shift
    (($#)) || return 0
    kill -TERM "$@" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        for pid in "$@"; do alive "$pid" && break; pid=; done
        [[ -z "${pid:-}" ]] && return 0
        sleep 0.1
    done
    log "$label: still running after 15 s, killing"
    kill -KILL "$@" 2>/dev/null || true
}

# --- readiness ---------------------------------------------------------------------------

# wait_for <what> <command...>: retry the command until it succeeds or TIMEOUT passes.
# If <what> is a component, give up at once when its process has exited (a port already in
# use, a bad flag): its log says why.
wait_for() {
    local what=$1 deadline=$((SECONDS + TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        if [[ " ${COMPONENTS[*]} ${NODE_COMPONENTS[*]} " == *" $what "* ]] && ! pid_of "$what" >/dev/null; then
            log "$what exited; last lines of $LOGS/$what.log:"
            tail -n 20 "$LOGS/$what.log" >&2 || true
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            log "timed out after ${TIMEOUT}s waiting for $what; last lines of the logs:"
            tail -n 5 "$LOGS"/*.log >&2 || true
            exit 1
        fi
        sleep 0.5
    done
}

https_ok() { curl -fsS --max-time 5 --cacert "$PKI/ca.crt" "$1" | grep -qx ok; }
https_ok_insecure() { curl -fsSk --max-time 5 "$1" | grep -qx ok; } # self-signed serving certs
http_ok() { curl -fsS --max-time 5 "$1" >/dev/null; }

# --- certificates and kubeconfig ---------------------------------------------------------

# One CA signs the API server's serving certificate and an admin client certificate
# (group system:masters) that every component and the tests use: this cluster exists for
# tests on loopback, so per-component identities would add files and no safety. The
# controller-manager still uses per-controller ServiceAccount credentials, so RBAC and the
# token machinery are exercised as on a real cluster. EC P-256 keys are quick to make.
make_pki() {
    # A PKI from before the real node lacks the API server's bridge address: make a new one.
    [[ -f "$PKI/admin.crt" ]] && openssl x509 -in "$PKI/apiserver.crt" -noout -text 2>/dev/null |
        grep -q "IP Address:$NODE_IP" && return
    command -v openssl >/dev/null || die "openssl is needed (apt-get install openssl)"
    log "generating certificates in $PKI"
    rm -rf "$PKI"
    mkdir -p "$PKI"
    (
        cd "$PKI"
        local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
        openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 3650 -subj "/CN=chainfleet-local-ca" 2>/dev/null
        openssl req -new "${ec[@]}" -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out apiserver.crt \
            -extfile <(printf '%s\n' \
                "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:$NODE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
                "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth") 2>/dev/null
        openssl req -new "${ec[@]}" -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=chainfleet-admin" 2>/dev/null
        openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out admin.crt \
            -extfile <(printf '%s\n' "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth") 2>/dev/null
        # ServiceAccount token signing key (RS256, the API server's default algorithm).
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
        rm -f ./*.csr ca.srl
        chmod 600 ./*.key
    )
}

make_kubeconfig() {
    local b64='base64 -w0'
    cat >"$KUBECONFIG.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: chainfleet-local
  cluster:
    server: $CHAINFLEET_APISERVER_URL
    certificate-authority-data: $($b64 <"$PKI/ca.crt")
users:
- name: chainfleet-admin
  user:
    client-certificate-data: $($b64 <"$PKI/admin.crt")
    client-key-data: $($b64 <"$PKI/admin.key")
contexts:
- name: chainfleet-local
  context:
    cluster: chainfleet-local
    user: chainfleet-admin
    namespace: default
current-context: chainfleet-local
EOF
    chmod 600 "$KUBECONFIG.tmp"
    mv "$KUBECONFIG.tmp" "$KUBECONFIG"
}

# --- objects the cluster needs before tests can use it ------------------------------------

# The default StorageClass, served by chainfleet-provisioner. Immediate binding: a claim is
# Bound as soon as it exists (the Pulumi Kubernetes provider waits for Bound on a PVC it
# creates), and the hostPath volumes have no node affinity, so pods still schedule anywhere.
apply_storage_class() {
    kubectl apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGE_CLASS
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: chainfleet.io/local
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
}

# Fake nodes for kwok to manage (it picks them by the annotation). No taints, so the
# project's pods need no kwok-specific tolerations.
apply_nodes() {
    local i
    for ((i = 0; i < NODES; i++)); do
        cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    node.kubernetes.io/instance-type: kwok
    topology.kubernetes.io/zone: local-$((i % 3))
    type: kwok
---
EOF
    done | kubectl apply -f - >/dev/null
}

nodes_ready() {
    local ready
    ready=$(kubectl get nodes -l type=kwok \
        -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$')
    ((ready >= NODES))
}

# A fresh etcd is at revision 1, and the API server's watch caches start at the revision etcd
# has when it starts: at 1, no resourceVersion can ever be "too old" (410 Gone), which no
# lived-in cluster is like, and the api tier's re-list test needs a real 410. A few writes to a
# key the API server never reads (it keeps to /registry) move a fresh etcd past that; on an
# existing one they are just ten more revisions. Through etcd's HTTP gateway: no etcdctl needed.
seed_etcd_revision() {
    local body
    body=$(printf '{"key":"%s","value":"%s"}' "$(printf chainfleet/seed | base64)" "$(printf x | base64)")
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        curl -fsS -X POST -d "$body" "http://127.0.0.1:$CHAINFLEET_ETCD_PORT/v3/kv/put" >/dev/null
    done
}

# --- commands ----------------------------------------------------------------------------

cmd_up() {
    local start_time=$SECONDS
    # Builds whatever is missing; prints "cached" and returns at once otherwise.
    if real_node_enabled; then
        node_preflight
        "$ROOT/scripts/tools.sh" etcd kubernetes provisioner kwok kubelet coredns
    else
        "$ROOT/scripts/tools.sh" etcd kubernetes provisioner kwok
    fi
    mkdir -p "$RUN" "$LOGS" "$DIR/etcd"
    chmod 700 "$DIR/etcd" # etcd warns about a data dir others can read
    make_pki
    make_kubeconfig

    start etcd --name chainfleet --data-dir "$DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$CHAINFLEET_ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$CHAINFLEET_ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$CHAINFLEET_ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$CHAINFLEET_ETCD_PEER_PORT" \
        --initial-cluster "chainfleet=http://127.0.0.1:$CHAINFLEET_ETCD_PEER_PORT" \
        --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
    # --unsafe-no-fsync: a throwaway test cluster on a shared disk; fsync latency would only
    # slow every write down.
    wait_for "etcd" http_ok "http://127.0.0.1:$CHAINFLEET_ETCD_PORT/health"
    seed_etcd_revision

    # With the real node: listen where its pods reach us (the bridge address, advertised as the
    # "kubernetes" Service's endpoint), call its kubelet for logs/exec/proxy with the admin
    # certificate, and authorize kubelets as nodes (Node,RBAC plus NodeRestriction), as a real
    # cluster does. Without it, loopback only, and no endpoints for "kubernetes" (an Endpoints
    # address may not be loopback; nothing would use it).
    local apiserver_node_flags=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1
        --endpoint-reconciler-type none --authorization-mode RBAC)
    if real_node_enabled; then
        apiserver_node_flags=(--bind-address 0.0.0.0 --advertise-address "$NODE_IP"
            --authorization-mode "Node,RBAC" --enable-admission-plugins NodeRestriction
            --kubelet-client-certificate "$PKI/admin.crt" --kubelet-client-key "$PKI/admin.key"
            --kubelet-preferred-address-types "InternalIP,Hostname")
    fi
    start kube-apiserver \
        --etcd-servers "http://127.0.0.1:$CHAINFLEET_ETCD_PORT" \
        "${apiserver_node_flags[@]}" --secure-port "$CHAINFLEET_APISERVER_PORT" \
        --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
        --client-ca-file "$PKI/ca.crt" \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
        --api-audiences https://kubernetes.default.svc.cluster.local \
        --service-cluster-ip-range "$SERVICE_CIDR" \
        --allow-privileged=true --profiling=false \
        --requestheader-client-ca-file "$PKI/ca.crt" --requestheader-allowed-names front-proxy-client \
        --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
        --requestheader-extra-headers-prefix X-Remote-Extra-
    # --requestheader-*: published in kube-system/extension-apiserver-authentication, which the
    # controller-manager and scheduler read (they log errors every few seconds without it);
    # no certificate with the front-proxy-client name is ever issued, so it grants nothing.
    wait_for "kube-apiserver" https_ok "$CHAINFLEET_APISERVER_URL/readyz"

    start kube-controller-manager \
        --kubeconfig "$KUBECONFIG" \
        --authentication-kubeconfig "$KUBECONFIG" --authorization-kubeconfig "$KUBECONFIG" \
        --bind-address 127.0.0.1 --secure-port "$CHAINFLEET_CONTROLLER_MANAGER_PORT" \
        --leader-elect=false --use-service-account-credentials \
        --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
        --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
        --controllers '*' --kube-api-qps 200 --kube-api-burst 400 \
        --profiling=false
    # --controllers '*': every controller that is on by default, among them the
    # ServiceAccount and token controllers, Job, StatefulSet, ReplicaSet/Deployment,
    # EndpointSlice (and Endpoints), garbage collector, namespace, node lifecycle, PV binder.
    start kube-scheduler \
        --kubeconfig "$KUBECONFIG" \
        --authentication-kubeconfig "$KUBECONFIG" --authorization-kubeconfig "$KUBECONFIG" \
        --bind-address 127.0.0.1 --secure-port "$CHAINFLEET_SCHEDULER_PORT" \
        --leader-elect=false --profiling=false --kube-api-qps 200 --kube-api-burst 400
    # --node-lease-duration-seconds: the kwok binary renews no node Leases unless told to (its
    # default is 0), and the stages set a node's Ready condition only once. Without Lease
    # renewals the node lifecycle controller sees every node go silent after its grace period,
    # marks them all NotReady (and their pods not Ready, emptying Service endpoints) until kwok
    # re-posts Ready: a ~5 s outage every ~55 s.
    start kwok \
        --kubeconfig "$KUBECONFIG" --config "$ROOT/scripts/cluster/kwok-stages.yaml" \
        --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
        --node-lease-duration-seconds 40 \
        --cidr "$POD_CIDR" --node-ip 127.0.0.1 \
        --server-address "127.0.0.1:$CHAINFLEET_KWOK_PORT"
    start provisioner --kubeconfig "$KUBECONFIG" --storage-class "$STORAGE_CLASS" \
        --provisioner-name chainfleet.io/local --root "$DIR/volumes"

    wait_for "kube-controller-manager" https_ok_insecure "https://127.0.0.1:$CHAINFLEET_CONTROLLER_MANAGER_PORT/healthz"
    wait_for "kube-scheduler" https_ok_insecure "https://127.0.0.1:$CHAINFLEET_SCHEDULER_PORT/healthz"
    wait_for "kwok" http_ok "http://127.0.0.1:$CHAINFLEET_KWOK_PORT/healthz"

    apply_storage_class
    apply_nodes
    wait_for "$NODES Ready kwok nodes" nodes_ready
    wait_for "the default ServiceAccount" kubectl get serviceaccount default -n default
    if real_node_enabled; then
        node_up
        log "up in $((SECONDS - start_time))s: $NODES kwok nodes and $REAL_NODE_NAME Ready, KUBECONFIG=$KUBECONFIG"
    else
        log "up in $((SECONDS - start_time))s: $NODES kwok nodes Ready (no real node), KUBECONFIG=$KUBECONFIG"
    fi
}

cmd_down() {
    local name pid pids=()
    # The node first: its kubelet would otherwise go on restarting pods for a while, and its
    # pods' volumes are mounted from the provisioner's directories.
    if ((EUID == 0)); then
        node_down
    fi
    for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
        name=${COMPONENTS[i]}
        if pid=$(pid_of "$name"); then
            local t=$SECONDS
            stop_pids "$name" "$pid"
            log "$name: stopped (pid $pid, $((SECONDS - t))s)"
        fi
        rm -f "$RUN/$name.pid"
    done
    mapfile -t pids < <(strays)
    if ((${#pids[@]})); then
        log "stopping leftover processes of this cluster: ${pids[*]}"
        stop_pids leftovers "${pids[@]}"
    fi
    log "down"
}

# show_processes <component...>: one line each, running (pid) or stopped; fails if one is stopped.
show_processes() {
    local name pid ok=0
    for name in "$@"; do
        if pid=$(pid_of "$name"); then
            printf '%-24s running (pid %s)\n' "$name" "$pid"
        else
            printf '%-24s stopped\n' "$name"
            ok=1
        fi
    done
    return $ok
}

cmd_status() {
    local ok=0
    show_processes "${COMPONENTS[@]}" || ok=1
    if real_node_enabled; then
        node_status || ok=1
    fi
    if ((ok == 0)) && https_ok "$CHAINFLEET_APISERVER_URL/readyz" 2>/dev/null; then
        kubectl get nodes -o wide 2>/dev/null || true
    else
        ok=1
    fi
    echo "kubeconfig: $KUBECONFIG"
    return $ok
}

cmd_reset() {
    cmd_down
    log "deleting $DIR"
    rm -rf "$DIR"
}

# A quick end-to-end check of what the tests rely on, in a namespace of its own: a
# StatefulSet with a volume claim template gets Running, Ready pods with Bound claims; a Job
# completes; a Job whose pod exits non-zero fails; deleting it all releases the volumes.
cmd_smoke() {
    local ns=chainfleet-smoke start_time=$SECONDS
    https_ok "$CHAINFLEET_APISERVER_URL/readyz" || die "the cluster is not up (scripts/cluster.sh up)"
    kubectl delete namespace "$ns" --ignore-not-found --wait=true >/dev/null
    kubectl create namespace "$ns" >/dev/null
    wait_for "the default ServiceAccount in $ns" kubectl -n "$ns" get serviceaccount default
    kubectl -n "$ns" apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: node
spec:
  replicas: 2
  serviceName: node
  selector:
    matchLabels: {app: node}
  template:
    metadata:
      labels: {app: node}
    spec:
      containers:
      - name: node
        image: example.invalid/node:1
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {storage: 10Gi}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: ok
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {chainfleet.io/kwok-run-for: 2s}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: example.invalid/job:1}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: fails
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {chainfleet.io/kwok-exit-code: "130"}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: example.invalid/job:1}]
EOF
    kubectl -n "$ns" rollout status statefulset/node --timeout "${TIMEOUT}s"
    kubectl -n "$ns" wait --for=jsonpath='{.status.phase}'=Bound pvc/data-node-0 pvc/data-node-1 --timeout "${TIMEOUT}s"
    kubectl -n "$ns" wait --for=condition=Complete job/ok --timeout "${TIMEOUT}s"
    kubectl -n "$ns" wait --for=condition=Failed job/fails --timeout "${TIMEOUT}s"
    kubectl -n "$ns" get pods,pvc -o wide
    kubectl -n "$ns" get pods -l job-name=fails \
        -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}' | grep -qx 130 ||
        die "the failing Job's pod did not exit with 130"
    local volumes
    volumes=$(kubectl -n "$ns" get pvc -o jsonpath='{.items[*].spec.volumeName}')
    kubectl delete namespace "$ns" --wait=true >/dev/null
    # shellcheck disable=SC2086  # one argument per volume name
    wait_for "the smoke test's volumes to be deleted" bash -c "! kubectl get pv $volumes"
    if real_node_enabled; then
        smoke_real_node "$ns"
    fi
    log "smoke test passed in $((SECONDS - start_time))s"
}

# The real node: a pod from a locally built image gets Ready through its probe, answers through
# the API server's pod proxy, resolves cluster names, and `kubectl logs` and `exec` work.
smoke_real_node() {
    local ns=$1-real
    kubectl delete namespace "$ns" --ignore-not-found --wait=true >/dev/null
    kubectl create namespace "$ns" >/dev/null
    wait_for "the default ServiceAccount in $ns" kubectl -n "$ns" get serviceaccount default
    kubectl -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeSelector: {type: real}
  tolerations: [{key: $REAL_NODE_TAINT, operator: Exists, effect: NoSchedule}]
  containers:
  - name: web
    image: docker.io/library/busybox:1.36
    imagePullPolicy: Never
    command: [sh, -c, 'mkdir -p /www && echo smoke-ok >/www/ok.txt && echo started && exec httpd -f -p 8080 -h /www']
    readinessProbe:
      httpGet: {path: /ok.txt, port: 8080}
      periodSeconds: 1
EOF
    kubectl -n "$ns" wait --for=condition=Ready pod/web --timeout "${TIMEOUT}s"
    kubectl get --raw "/api/v1/namespaces/$ns/pods/web:8080/proxy/ok.txt" | grep -qx smoke-ok ||
        die "the real pod did not answer through the API server's pod proxy"
    kubectl -n "$ns" logs web | grep -qx started || die "kubectl logs did not show the pod's output"
    kubectl -n "$ns" exec web -- cat /www/ok.txt | grep -qx smoke-ok || die "kubectl exec failed"
    kubectl -n "$ns" exec web -- nslookup kubernetes.default.svc.cluster.local | grep -q "10.96.0.1" ||
        die "cluster DNS did not resolve kubernetes.default.svc.cluster.local in the pod"
    kubectl delete namespace "$ns" --wait=true >/dev/null
    log "real node: probe, pod proxy, logs, exec and DNS work"
}

main() {
    case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    smoke) cmd_smoke ;;
    push)
        (($# >= 3)) || die "usage: cluster.sh push <image> <repo:tag> [label=value...]"
        real_node_enabled || die "push needs the real node (CHAINFLEET_REAL_NODE=0 has none)"
        shift
        node_push "$@"
        ;;
    *) usage; exit 2 ;;
    esac
}

# Called on the last line so bash has read the whole file before anything runs.
main "$@"; exit $?
