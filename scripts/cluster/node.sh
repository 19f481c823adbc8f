# shellcheck shell=bash
# The local cluster's real node, sourced by scripts/cluster.sh (it uses that file's start,
# pid_of, stop_pids, wait_for, log and die): containerd (Debian's), the CNI bridge cfbr0,
# kubelet and kube-proxy (built by scripts/tools.sh at KUBERNETES_VERSION) and CoreDNS as host
# processes. Pods on it run for real: their images come from scripts/images.sh (nothing can be
# pulled here), their volumes from chainfleet-provisioner's hostPath directories.
#
# The recipe, and each trap it avoids, is ../shared/research/real-node.md's reproduction:
# - this VM drops CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj as the kubelet asks:
#   containerd's restrict_oom_score_adj;
# - kubelet 1.36 refuses cgroup v1 unless failCgroupV1 is false;
# - the Node authorizer only learns a pod's PVCs from its graph, a few seconds late: the
#   ClusterRole system:node is also bound to the group system:nodes (NodeRestriction still
#   limits what a kubelet may write);
# - the sandbox image registry.k8s.io/pause:3.10 is built here (scripts/images.sh).
#
# Addressing: the bridge cfbr0 owns 10.244.0.1/24 before anything starts, and that address is
# the node's InternalIP, the API server's advertised address (so the "kubernetes" Service
# reaches it from pods) and the cluster DNS server (CoreDNS binds it). Pods get 10.244.0.2-254
# from host-local; the host routes to them directly, so the API server's pod proxy works. No
# masquerade: pods only talk to this host and to each other.
#
# The node's registry: Debian's docker-registry (the CNCF distribution registry) on
# 10.244.0.1:20500, plain HTTP, where the host's containerd and the pods both reach it. It holds
# what a pod must resolve or pull from a registry rather than from the imports: the tags that
# bootstrap tests follow (`cluster.sh push` puts an imported image there under a tag). containerd
# pulls from it per certs.d/10.244.0.1:20500/hosts.toml (config_path); the monitor is told it
# speaks plain HTTP (bootstrapTests' plainHttp).
#
# The node is tainted chainfleet.io/real-node=true:NoSchedule: the kwok nodes stay where the
# tests' pods go unless a test asks for a real pod (test/e2e/README.md says which and why).

REAL_NODE_NAME=chainfleet-node
REAL_NODE_TAINT=chainfleet.io/real-node
NODE_BRIDGE=cfbr0
NODE_IP=10.244.0.1
NODE_POD_CIDR=10.244.0.0/24
NODE_RUN=/run/chainfleet # sockets and runtime state: short paths (unix socket length limit)
CONTAINERD_SOCK=$NODE_RUN/containerd.sock
NODE_DIR=$DIR/node
KUBELET_ROOT=$NODE_DIR/kubelet
# Ports on top of the cluster's (scripts/env.sh): the kubelet's API (on NODE_IP, where the API
# server calls it) and health checks (loopback); kube-proxy's; CoreDNS's health and ready.
KUBELET_PORT=20250
KUBELET_HEALTHZ_PORT=20248
KUBE_PROXY_HEALTHZ_PORT=20256
KUBE_PROXY_METRICS_PORT=20249
COREDNS_HEALTH_PORT=20280
COREDNS_READY_PORT=20281
REGISTRY_PORT=${CHAINFLEET_REGISTRY_PORT:-20500}
REGISTRY_HOST=$NODE_IP:$REGISTRY_PORT
NODE_COMPONENTS=(containerd docker-registry kubelet kube-proxy coredns)

# CHAINFLEET_REAL_NODE=0 leaves the real node out (a machine without root or containers).
real_node_enabled() { [[ ${CHAINFLEET_REAL_NODE:-1} != 0 ]]; }

node_preflight() {
    (($(id -u) == 0)) || die "the real node needs root (containers, bridges, iptables); or CHAINFLEET_REAL_NODE=0 for kwok only"
    local bin
    for bin in containerd containerd-shim-runc-v2 runc iptables conntrack; do
        command -v "$bin" >/dev/null || die "$bin is missing: run scripts/setup.sh (Debian packages)"
    done
    [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] ||
        die "the CNI plugins are missing: run scripts/setup.sh (containernetworking-plugins)"
}

# --- configuration files ------------------------------------------------------------------

# The kubelet's client certificate: its Node identity (CN system:node:<name>, O system:nodes),
# which the Node authorizer and NodeRestriction admission key on.
make_node_pki() {
    [[ -f "$PKI/kubelet.crt" ]] && return
    (
        cd "$PKI" || exit 1
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout kubelet.key \
            -out kubelet.csr -subj "/O=system:nodes/CN=system:node:$REAL_NODE_NAME" 2>/dev/null
        openssl x509 -req -in kubelet.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out kubelet.crt \
            -extfile <(printf '%s\n' "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth") 2>/dev/null
        rm -f kubelet.csr ca.srl
        chmod 600 kubelet.key
    )
}

write_node_config() {
    mkdir -p "$NODE_DIR/cni/net.d" "$KUBELET_ROOT" "$NODE_RUN"
    local b64='base64 -w0'
    # The kubelet reaches the API server on loopback; the address is not the point.
    cat >"$NODE_DIR/kubelet.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: chainfleet-local
  cluster: {server: "$CHAINFLEET_APISERVER_URL", certificate-authority-data: $($b64 <"$PKI/ca.crt")}
users:
- name: kubelet
  user: {client-certificate-data: $($b64 <"$PKI/kubelet.crt"), client-key-data: $($b64 <"$PKI/kubelet.key")}
contexts:
- name: kubelet
  context: {cluster: chainfleet-local, user: kubelet}
current-context: kubelet
EOF
    chmod 600 "$NODE_DIR/kubelet.kubeconfig"

    # containerd 1.6 (Debian bookworm's), config format v2. Its own root, state and socket:
    # a Docker engine on this host keeps its own containerd.
    cat >"$NODE_DIR/containerd.toml" <<EOF
version = 2
root = "$NODE_DIR/containerd"
state = "$NODE_RUN/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$NODE_DIR/certs.d"
EOF

    # The node's registry speaks plain HTTP: containerd must be told so, per host.
    mkdir -p "$NODE_DIR/certs.d/$REGISTRY_HOST" "$NODE_DIR/registry/storage"
    cat >"$NODE_DIR/certs.d/$REGISTRY_HOST/hosts.toml" <<EOF
server = "http://$REGISTRY_HOST"
[host."http://$REGISTRY_HOST"]
  capabilities = ["pull", "resolve"]
EOF

    cat >"$NODE_DIR/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $NODE_DIR/registry/storage
  delete:
    enabled: true
http:
  addr: $REGISTRY_HOST
  secret: $(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
EOF

    cat >"$NODE_DIR/cni/net.d/10-chainfleet.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "chainfleet",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$NODE_RUN/cni-ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

    cat >"$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
registerWithTaints:
- {key: $REAL_NODE_TAINT, value: "true", effect: NoSchedule}
# Images are imported, not pulled: garbage-collecting one would lose it for good. And an imported
# image must never be re-pulled to verify pull credentials (KEP-2535): once a pod had pulled the
# same image ID from the node's registry, the default NeverVerifyPreloadedImages no longer counted
# it as preloaded, and every pod of the imported name failed with ErrImagePull (measured here).
imagePullCredentialsVerificationPolicy: NeverVerify
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# A shared build machine's disk is often fuller than a node's: evict only when really out.
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
serializeImagePulls: false
volumePluginDir: "$KUBELET_ROOT/volume-plugins"
EOF

    # CoreDNS on the bridge address: cluster.local from the API server (pod names too:
    # "pods insecure" answers 10-244-0-5.<ns>.pod names), everything else forwarded.
    cat >"$NODE_DIR/Corefile" <<EOF
cluster.local in-addr.arpa ip6.arpa {
    bind $NODE_IP
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $KUBECONFIG chainfleet-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:$COREDNS_HEALTH_PORT
    ready 127.0.0.1:$COREDNS_READY_PORT
    forward . /etc/resolv.conf
    cache 30
}
EOF
}

# --- the bridge ---------------------------------------------------------------------------

bridge_up() {
    if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
        ip link add "$NODE_BRIDGE" type bridge
    fi
    ip addr show dev "$NODE_BRIDGE" | grep -q "inet $NODE_IP/" || ip addr add "$NODE_IP/24" dev "$NODE_BRIDGE"
    ip link set "$NODE_BRIDGE" up
    # Pod → Service → pod on the same bridge passes kube-proxy's iptables rules only if bridged
    # traffic goes through iptables (br_netfilter is built into this kernel).
    sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || log "warning: net.bridge.bridge-nf-call-iptables not settable; pod → ClusterIP may fail"
    sysctl -qw net.ipv4.ip_forward=1
}

# --- up -----------------------------------------------------------------------------------

# Lets nodes read the PVCs of their pods at once (see the header), and kube-proxy/CoreDNS run
# with the admin kubeconfig, like the other host components of this test cluster.
apply_node_rbac() {
    kubectl apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: chainfleet:system:nodes
subjects:
- {kind: Group, name: "system:nodes", apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: ClusterRole, name: "system:node", apiGroup: rbac.authorization.k8s.io}
EOF
}

real_node_ready() {
    kubectl get node "$REAL_NODE_NAME" \
        -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True
}

containerd_ok() { ctr --address "$CONTAINERD_SOCK" version >/dev/null; }

node_up() {
    node_preflight
    make_node_pki
    write_node_config
    bridge_up
    apply_node_rbac

    start containerd --config "$NODE_DIR/containerd.toml" --log-level warn
    wait_for containerd containerd_ok
    # The images pods use (pause first of all): built once, cached, imported when missing.
    # The test chain's images are imported by scripts/test.sh before the e2e tier, once its
    # background build is done.
    "$ROOT/scripts/images.sh" import pause busybox cometbft cometbft-next node-agent monitor
    # On the bridge's address, which bridge_up gave it.
    start docker-registry serve "$NODE_DIR/registry/config.yml"
    wait_for docker-registry http_ok "http://$REGISTRY_HOST/v2/"

    start kubelet --config "$NODE_DIR/kubelet.yaml" --kubeconfig "$NODE_DIR/kubelet.kubeconfig" \
        --root-dir "$KUBELET_ROOT" --cert-dir "$KUBELET_ROOT/pki" \
        --hostname-override "$REAL_NODE_NAME" --node-ip "$NODE_IP" \
        --node-labels "type=real,node.kubernetes.io/instance-type=real" --v 1
    start kube-proxy --kubeconfig "$KUBECONFIG" --hostname-override "$REAL_NODE_NAME" \
        --proxy-mode iptables --cluster-cidr "$NODE_POD_CIDR" --conntrack-max-per-core 0 \
        --healthz-bind-address "127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT" \
        --metrics-bind-address "127.0.0.1:$KUBE_PROXY_METRICS_PORT"
    # --conntrack-max-per-core 0: leave the host's conntrack table size alone.
    start coredns -conf "$NODE_DIR/Corefile"

    wait_for kubelet http_ok "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"
    wait_for kube-proxy http_ok "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz"
    wait_for coredns http_ok "http://127.0.0.1:$COREDNS_READY_PORT/ready"
    wait_for "node $REAL_NODE_NAME Ready" real_node_ready
}

# --- down ---------------------------------------------------------------------------------

# Pod sandboxes and containers outlive the kubelet (their shims are their parents): remove
# them through containerd while it still runs, so no container, veth or netns stays behind.
node_remove_pods() {
    local ctr_=(ctr --address "$CONTAINERD_SOCK" -n k8s.io) ids
    containerd_ok 2>/dev/null || return 0
    mapfile -t ids < <("${ctr_[@]}" tasks ls -q 2>/dev/null)
    if ((${#ids[@]})); then
        "${ctr_[@]}" tasks kill -a -s SIGKILL "${ids[@]}" >/dev/null 2>&1 || true
        local i
        for ((i = 0; i < 50; i++)); do
            "${ctr_[@]}" tasks ls 2>/dev/null | grep -q RUNNING || break
            sleep 0.2
        done
        for id in "${ids[@]}"; do "${ctr_[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true; done
    fi
    mapfile -t ids < <("${ctr_[@]}" containers ls -q 2>/dev/null)
    if ((${#ids[@]})); then
        "${ctr_[@]}" containers delete "${ids[@]}" >/dev/null 2>&1 || true
    fi
}

# What the processes leave: mounts under the kubelet's root and containerd's dirs, network
# namespaces of sandboxes, veths on our bridge and the bridge, iptables chains, IPAM leases.
node_cleanup_host() {
    local m
    # Deepest first: volumes and tokens are mounted inside the kubelet's own bind mount.
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
        awk -v a="$KUBELET_ROOT" -v b="$NODE_DIR/containerd" -v c="$NODE_RUN" \
            'index($5, a) == 1 || index($5, b) == 1 || index($5, c) == 1 { print $5 }' /proc/self/mountinfo | sort -r
    )
    local ns
    for ns in /run/netns/cni-*; do
        [[ -e $ns ]] || continue
        umount "$ns" 2>/dev/null || true
        rm -f "$ns"
    done
    local veth
    for veth in $(ip -o link show master "$NODE_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
        ip link delete "$veth" 2>/dev/null || true
    done
    ip link delete "$NODE_BRIDGE" 2>/dev/null || true
    node_cleanup_iptables
    rm -rf "$NODE_RUN/cni-ipam" "$NODE_RUN/containerd" "$NODE_RUN/containerd.sock" "$NODE_RUN/containerd.sock.ttrpc"
}

# kube-proxy's and the kubelet's chains (all named KUBE-*), in every table they use: each rule
# that jumps to one goes first, then the chains. Nothing else on the host is touched.
node_cleanup_iptables() {
    local ipt table rule chain
    for ipt in iptables ip6tables; do
        command -v "$ipt" >/dev/null || continue
        for table in filter nat mangle; do
            # (grep finds nothing on a clean host: not an error.)
            { "$ipt" -t "$table" -S 2>/dev/null | grep -E '^-A .* -j KUBE-' | grep -vE '^-A KUBE-' || true; } |
                while read -r rule; do
                    # shellcheck disable=SC2086  # the rule's words are separate arguments
                    eval "$ipt -t $table ${rule/-A/-D}" 2>/dev/null || true
                done
            for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}' || true); do
                "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
            done
            for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}' || true); do
                "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
            done
        done
    done
}

# Leftovers `down` could not remove, one line each; empty when the host is clean.
node_leftovers() {
    local pid
    for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true); do
        echo "process: shim $pid"
    done
    awk -v a="$KUBELET_ROOT" -v b="$NODE_DIR/containerd" 'index($5, a) == 1 || index($5, b) == 1 { print "mount: " $5 }' /proc/self/mountinfo
    ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && echo "link: $NODE_BRIDGE"
    local ns
    for ns in /run/netns/cni-*; do [[ -e $ns ]] && echo "netns: $ns"; done
    { iptables-save 2>/dev/null | grep -E '^(:KUBE-|-A .*KUBE-)' || true; } | head -3 | sed 's/^/iptables: /'
    true
}

node_down() {
    local name pid
    # The kubelet first, so it does not restart the containers being removed.
    for name in coredns kube-proxy kubelet docker-registry; do
        if pid=$(pid_of "$name"); then
            stop_pids "$name" "$pid"
            log "$name: stopped (pid $pid)"
        fi
        rm -f "$RUN/$name.pid"
    done
    node_remove_pods
    if pid=$(pid_of containerd); then
        stop_pids containerd "$pid"
        log "containerd: stopped (pid $pid)"
    fi
    rm -f "$RUN/containerd.pid"
    # Shims whose containerd is gone (a killed run): their containers go with them.
    local shims
    shims=$(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true)
    # shellcheck disable=SC2086  # one pid per word
    [[ -n $shims ]] && stop_pids shims $shims
    node_cleanup_host
    # The Docker engine scripts/images.sh may have started for builds (its own containerd too).
    "$ROOT/scripts/images.sh" stop >/dev/null 2>&1 || true
    local left
    left=$(node_leftovers)
    [[ -z $left ]] || log "warning: left behind by the real node:"$'\n'"$left"
}

node_status() {
    local ok=0
    show_processes "${NODE_COMPONENTS[@]}" || ok=1
    if ip -br addr show "$NODE_BRIDGE" >/dev/null 2>&1; then
        printf '%-24s %s\n' "bridge" "$(ip -br addr show "$NODE_BRIDGE" | awk '{print $2, $3}')"
    else
        printf '%-24s missing\n' "bridge"
        ok=1
    fi
    if containerd_ok 2>/dev/null; then
        printf '%-24s %s images, %s containers\n' "runtime" \
            "$(ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q 2>/dev/null | grep -vc '^sha256:')" \
            "$(ctr --address "$CONTAINERD_SOCK" -n k8s.io containers ls -q 2>/dev/null | wc -l)"
    fi
    return $ok
}

# node_push <image> <repo:tag> [label=value...]: an image containerd holds (imported by
# scripts/images.sh), pushed to the node's registry as <repo:tag> with the labels added to its
# config (e.g. org.opencontainers.image.version, which the bootstrap monitor records); prints the
# pushed reference by digest. The layers are the image's own: only the config is rewritten.
node_push() {
    local src=$1 repo=${2%:*} tag=${2##*:} ctr_=(ctr --address "$CONTAINERD_SOCK" -n k8s.io)
    shift 2
    local labels='{}' kv out tmp manifest config digest
    for kv in "$@"; do
        [[ $kv == *=* ]] || die "push: a label is key=value, not '$kv'"
        labels=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$labels")
    done
    [[ $src == */* ]] || src=library/$src
    [[ ${src%%/*} == *.* || ${src%%/*} == *:* ]] || src=docker.io/$src
    # (The list first: grep -q stopping early would fail the pipe under pipefail.)
    out=$("${ctr_[@]}" images ls "name==$src")
    digest=$(awk 'NR == 2 { print $3 }' <<<"$out")
    [[ -n $digest ]] || die "containerd has no $src: scripts/images.sh import <image> first"
    tmp=$(mktemp -d)
    manifest=$("${ctr_[@]}" content get "$digest")
    [[ $(jq -r '.layers | type' <<<"$manifest") == array ]] || die "push: $src is not a single-platform image manifest"
    local layer
    for layer in $(jq -r '.layers[].digest' <<<"$manifest"); do
        "${ctr_[@]}" content get "$layer" >"$tmp/blob"
        registry_put_blob "$repo" "$layer" "$tmp/blob"
    done
    "${ctr_[@]}" content get "$(jq -r .config.digest <<<"$manifest")" |
        jq -c --argjson l "$labels" '.config.Labels = ((.config.Labels // {}) + $l)' | tr -d '\n' >"$tmp/config"
    config="sha256:$(sha256sum <"$tmp/config" | cut -d' ' -f1)"
    registry_put_blob "$repo" "$config" "$tmp/config"
    jq -c --arg d "$config" --argjson n "$(stat -c %s "$tmp/config")" '.config.digest = $d | .config.size = $n' \
        <<<"$manifest" | tr -d '\n' >"$tmp/manifest"
    curl -fsS -X PUT -H "Content-Type: $(jq -r .mediaType "$tmp/manifest")" --data-binary "@$tmp/manifest" \
        "http://$REGISTRY_HOST/v2/$repo/manifests/$tag" >/dev/null || die "push: the registry refused the manifest of $repo:$tag"
    echo "$REGISTRY_HOST/$repo@sha256:$(sha256sum <"$tmp/manifest" | cut -d' ' -f1)"
    rm -rf "$tmp"
}

# registry_put_blob <repo> <digest> <file>: the registry's monolithic upload, unless it has it.
registry_put_blob() {
    local base="http://$REGISTRY_HOST/v2/$1" location
    curl -fsS -o /dev/null -I "$base/blobs/$2" 2>/dev/null && return 0
    location=$(curl -fsS -o /dev/null -D - -X POST "$base/blobs/uploads/" | tr -d '\r' |
        sed -n 's/^[Ll]ocation: //p')
    [[ -n $location ]] || die "push: the registry started no upload for $1"
    [[ $location == http* ]] || location="http://$REGISTRY_HOST$location"
    [[ $location == *\?* ]] && location+="&" || location+="?"
    curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$3" \
        "${location}digest=$2" >/dev/null || die "push: the registry refused blob $2 of $1"
}
