#!/usr/bin/env bash
# Builds the container images that the local cluster's real node (kubelet + containerd) and the
# test tiers run, under the names the stacks and tests use, and imports them into the node's
# containerd. Nothing can be pulled from a registry on this project's machines, so each image is
# made here: FROM scratch out of binaries built from the Go module proxy, Debian packages and
# this host's Node.js; the monitor from monitor/Dockerfile, on top of that node image.
#
# Usage: scripts/images.sh [command] [image...]     (npm run images -- <command> ...)
#   build [--force] [image...]  build the images that are not cached (default: all); --force
#                               rebuilds the named ones. The default command.
#   import [image...]           build what is missing, then load the images into the node's
#                               containerd (namespace k8s.io) at $CHAINFLEET_CONTAINERD_SOCK
#                               (default /run/chainfleet/containerd.sock); names containerd
#                               already has with the same image config are skipped
#   list                        each image: its names, cache key, size, cached or not
#   run <image> [args...]       run the image once in a throwaway container (docker run --rm)
#   daemon [image...]           make sure a daemon answers (started as for builds) and has the
#                               named images loaded (built when not cached); prints
#                               DOCKER_HOST=<its address> as the last line, for tests that build
#                               with it (test/e2e/monitor-image-build.test.ts: `daemon node`)
#   stop                        stop the docker daemon this script started
#   -h, --help                  this text
#
# Images (the names are read from the sources that use them, where one place holds them):
#   pause          registry.k8s.io/pause:3.10 (the kubelet's sandbox; tools/pause)
#   busybox        lib/snapshot.ts DEFAULT_SNAPSHOT_IMAGE (docker.io/library/busybox:1.36)
#   cometbft       cometbft/cometbft:$COMETBFT_VERSION (tools/versions.sh; Pulumi.dev.yaml, e2e)
#   cometbft-next  test/e2e/harness/fleet.ts COMETBFT_V2 (the e2e tier's "new image")
#   node           node:20-slim (monitor/Dockerfile's base)
#   monitor        chainfleet-monitor:dev, Pulumi.dev.yaml's monitorImage, chainfleet-monitor:api-test
#   node-agent     lib/nodeHome.ts NODE_AGENT_IMAGE (FROM scratch: node-agent/build.sh's static binary)
#   testchain-047-v1, testchain-050-v2, testchain-050-v1
#                  chainfleet/testchain:0.47-v1, :0.50-v2, :0.50-v1: our own Cosmos SDK chain
#                  (tools/testchain; /usr/bin/testchaind and BusyBox), the binaries scripts/tools.sh
#                  builds (piece testchain), copied from its cache. For the api/e2e tiers' real hard
#                  fork (a governance upgrade v0.47 -> v0.50, and v0.50 v1 -> v2) in real pods;
#                  imported by scripts/cluster/node.sh with the others. Not in the default
#                  `build` (CI builds them through that import): `images.sh build testchain-047-v1 ...`
#
# Cache: ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/images/<image>-<key>.tar (docker save of
# all of the image's names) and <image>-<key>.complete beside it, written last. The key is a
# sha256 over the image's inputs: the recipe (this script's functions that make it), the names,
# the sources or versions of what is compiled, the sha256 of the Debian packages and of the
# host files copied in, the monitor's build context; a present key is reused without docker.
#
# Docker: builds use the daemon at $CHAINFLEET_DOCKER_HOST (default
# unix:///run/chainfleet/docker.sock); when none answers there, this script starts one with its
# data root under the cache, its own managed containerd (never the node's), no bridge and no
# iptables rules, and leaves it running for the next build (`stop` ends it). The legacy builder
# is used (DOCKER_BUILDKIT=0): BuildKit would pull its Dockerfile frontend.

# The build_<image>/key_<image> functions are called indirectly.
# shellcheck disable=SC2317
set -euo pipefail
# Failures inside $(...) count too (a key computed from half its inputs would lie).
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/versions.sh
. "$ROOT/tools/versions.sh"
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"

ALL_IMAGES=(pause busybox cometbft cometbft-next node monitor node-agent)
# Known too, but built only when named (their cold build is the test chain's, 10+ minutes).
TESTCHAIN_IMAGES=(testchain-047-v1 testchain-050-v2 testchain-050-v1)
IMAGES_DIR="$CHAINFLEET_CACHE/images"
RUN_DIR=/run/chainfleet
DEFAULT_DOCKER_HOST="unix://$RUN_DIR/docker.sock"
export DOCKER_HOST="${CHAINFLEET_DOCKER_HOST:-$DEFAULT_DOCKER_HOST}"
export DOCKER_BUILDKIT=0
CONTAINERD_SOCK="${CHAINFLEET_CONTAINERD_SOCK:-$RUN_DIR/containerd.sock}"
# What docker import and the images' ENV say, as in the official images.
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'images: %s\n' "$*"; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }

# --- names --------------------------------------------------------------------------------

# The string constant <name> in a TypeScript file: `export const NAME = "value";`.
ts_const() { # <file> <name>
    local v
    v=$(sed -n "s/^export const $2 = \"\\([^\"]*\\)\";.*/\\1/p" "$ROOT/$1")
    [[ -n $v ]] || die "no \`export const $2 = \"...\"\` in $1 (the image names are read from there)"
    echo "$v"
}

image_names() {
    case "$1" in
    pause) echo "registry.k8s.io/pause:3.10" ;;
    busybox) ts_const lib/snapshot.ts DEFAULT_SNAPSHOT_IMAGE ;;
    cometbft) echo "cometbft/cometbft:$COMETBFT_VERSION" ;;
    cometbft-next) ts_const test/e2e/harness/fleet.ts COMETBFT_V2 ;;
    node) echo "node:20-slim" ;;
    monitor)
        local dev
        dev=$(sed -n 's/^ *chainfleet:monitorImage: *//p' "$ROOT/Pulumi.dev.yaml")
        [[ -n $dev ]] || die "no chainfleet:monitorImage in Pulumi.dev.yaml"
        echo "chainfleet-monitor:dev $dev chainfleet-monitor:api-test"
        ;;
    node-agent) ts_const lib/nodeHome.ts NODE_AGENT_IMAGE ;;
    testchain-047-v1) echo "chainfleet/testchain:0.47-v1" ;;
    testchain-050-v2) echo "chainfleet/testchain:0.50-v2" ;;
    testchain-050-v1) echo "chainfleet/testchain:0.50-v1" ;;
    *) die "unknown image '$1' (known: ${ALL_IMAGES[*]} ${TESTCHAIN_IMAGES[*]})" ;;
    esac
}

# The version a cometbft image carries: its tag.
cometbft_version() { local names; names=$(image_names "$1"); echo "${names##*:}"; }

# --- inputs -------------------------------------------------------------------------------

# The sha256 Debian's package index gives for each package's candidate version (no download),
# read once (apt-cache takes seconds).
DEBS=(busybox-static bash-static)
declare -A DEB_SHA=()
load_deb_shas() {
    local pkg sha
    while read -r pkg sha; do DEB_SHA[$pkg]=$sha; done < <(apt-cache show --no-all-versions "${DEBS[@]}" 2>/dev/null |
        awk '/^Package: / { p = $2 } /^SHA256: / { print p, $2 }')
    if ((${#DEB_SHA[@]} < ${#DEBS[@]})) && [[ $(id -u) == 0 && -z ${APT_UPDATED:-} ]]; then
        APT_UPDATED=1
        log "apt does not know ${DEBS[*]}: apt-get update"
        apt-get update -qq
        load_deb_shas
    fi
}
deb_sha() { # <package>
    [[ -n ${DEB_SHA[$1]:-} ]] || die "apt knows no package $1 (run apt-get update)"
    echo "${DEB_SHA[$1]}"
}

# The .deb of <package> (candidate version), downloaded once into the cache and checked
# against the index's sha256; prints its path.
fetch_deb() { # <package>
    local sha version dir=$IMAGES_DIR/debs deb tmp
    sha=$(deb_sha "$1")
    deb="$dir/$1_${sha:0:16}.deb"
    if [[ ! -f $deb ]]; then
        version=$(apt-cache show --no-all-versions "$1" | sed -n 's/^Version: //p' | head -n 1)
        mkdir -p "$dir"
        # Where apt's download sandbox user (_apt) can write (the cache may be under /root).
        tmp=$(mktemp -d)
        chown _apt "$tmp" 2>/dev/null || true
        (cd "$tmp" && apt-get download -qq "$1=$version" >&2)
        [[ $(sha256sum "$tmp"/*.deb | cut -d' ' -f1) == "$sha" ]] || die "$1 $version: sha256 differs from apt's index"
        mv "$tmp"/*.deb "$deb"
        rm -rf "$tmp"
    fi
    echo "$deb"
}

# Each file a dynamically linked program needs: itself and its shared libraries (ldd), as
# the paths the loader will look for, one a line.
lib_closure() { # <program...>
    local p
    for p in "$@"; do
        [[ -x $p ]] || die "$p not found (scripts/setup.sh installs the Debian packages)"
        echo "$p"
        ldd "$p" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'
    done | sort -u
}

# sha256 lines for <path...>, their content followed through symlinks.
hash_files() { local f; for f in "$@"; do printf '%s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"; done; }

CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CURL_JQ=(/usr/bin/curl /usr/bin/jq)

# The npm that comes with this host's node (its package directory).
npm_dir() {
    local cli
    cli=$(readlink -f "$(command -v npm)") || die "npm not found"
    (cd "$(dirname "$cli")/.." && pwd)
}

# The monitor's build context: the files monitor/Dockerfile.dockerignore allows (it is an
# allow-list: `**`, then `!pattern` lines), tracked or new, not ignored by git. The legacy
# builder ignores per-Dockerfile ignore files, so the context is made here, as a tar with
# fixed owners and times (its sha256 is the monitor's key).
monitor_context() { # <out.tar>
    local line pathspecs=()
    while IFS= read -r line; do
        case "$line" in
        '' | '#'* | '**') ;;
        '!'*) pathspecs+=(":(glob)${line#!}") ;;
        *) die "monitor/Dockerfile.dockerignore: only '**' and '!allow' lines are understood, not '$line'" ;;
        esac
    done <"$ROOT/monitor/Dockerfile.dockerignore"
    ((${#pathspecs[@]})) || die "monitor/Dockerfile.dockerignore allows nothing"
    (
        cd "$ROOT"
        git ls-files -z --cached --others --exclude-standard -- "${pathspecs[@]}" |
            sort -zu | while IFS= read -r -d '' f; do if [[ -f $f ]]; then printf '%s\0' "$f"; fi; done |
            tar --null -T - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$1"
    )
}

# --- keys: each prints the material its image's key is the sha256 of ----------------------

# Helpers whose text shapes more than one image.
recipe_common() { declare -f rootfs_base rootfs_busybox copy_closure docker_import_rootfs; }

key_pause() {
    go version
    hash_files "$ROOT"/tools/pause/*
}

key_busybox() { deb_sha busybox-static; }

key_cometbft() {
    local img=$1
    go version
    cometbft_version "$img"
    # The pinned version is built in tools/cometbft, whose go.sum decides the dependencies;
    # another version from its own module (its go.sum, checked against the checksum database).
    if [[ $img == cometbft ]]; then
        hash_files "$ROOT/tools/cometbft/go.mod" "$ROOT/tools/cometbft/go.sum"
    fi
    deb_sha busybox-static
    deb_sha bash-static
    local files
    mapfile -t files < <(lib_closure "${CURL_JQ[@]}")
    hash_files "${files[@]}" "$CA_BUNDLE"
}
key_cometbft-next() { key_cometbft cometbft-next; }

key_node() {
    local files
    mapfile -t files < <(lib_closure "$(readlink -f "$(command -v node)")")
    hash_files "${files[@]}" "$CA_BUNDLE"
    (cd "$(npm_dir)" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    deb_sha busybox-static
}

key_monitor() {
    local ctx
    ctx=$(mktemp)
    monitor_context "$ctx"
    sha256sum <"$ctx"
    rm -f "$ctx"
    # FROM node:20-slim: a new node image rebuilds the monitor.
    echo "node ${KEYS[node]}"
}

key_node-agent() {
    go version
    # The module's sources (tests too: cheap, and a fixture may feed a go:embed) and the build.
    (cd "$ROOT/node-agent" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name build.sh \) -print0 |
        sort -z | xargs -0 sha256sum)
}

key_testchain() {
    # The binary is scripts/tools.sh's build, whose cache key hashes tools/testchain's modules
    # and sources (scripts/env.sh); the tools script's recipe (build_testchain) too.
    echo "$CHAINFLEET_TESTCHAIN_KEY"
    declare -f build_testchain
    sed -n '/^TESTCHAIN_BINARIES=/,/^}/p' "$ROOT/scripts/tools.sh"
    deb_sha busybox-static
}
key_testchain-047-v1() { key_testchain; }
key_testchain-050-v2() { key_testchain; }
key_testchain-050-v1() { key_testchain; }

# KEYS[<image>]: each image's key, computed once per run (hashing the inputs takes seconds).
declare -A KEYS=()
compute_key() { # <image>
    [[ -n ${KEYS[$1]:-} ]] && return
    [[ $1 == monitor ]] && compute_key node
    KEYS[$1]=$(
        {
            image_names "$1"
            recipe_common
            declare -f "build_$1"
            "key_$1" "$1"
        } | sha256sum | cut -c1-16
    )
}

# --- rootfs helpers -----------------------------------------------------------------------

# The directories and account files every image has (like the official images' /etc/passwd).
rootfs_base() { # <rootfs>
    mkdir -p "$1"/{bin,etc,root,tmp,usr/bin,usr/local/bin}
    chmod 1777 "$1/tmp"
    chmod 0700 "$1/root"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$1/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$1/etc/group"
}

# Debian's static BusyBox as /bin/busybox plus a symlink in /bin for each of its applets (as the
# official busybox image, which has them all in /bin), except where a file already is.
rootfs_busybox() { # <rootfs>
    local deb x applet
    deb=$(fetch_deb busybox-static)
    x=$(mktemp -d)
    dpkg-deb -x "$deb" "$x"
    install -m 0755 "$x/bin/busybox" "$1/bin/busybox"
    rm -rf "$x"
    for applet in $("$1/bin/busybox" --list); do
        [[ $applet == busybox || $applet == linuxrc || -e $1/bin/$applet ]] || ln -s busybox "$1/bin/$applet"
    done
    # Scripts' `#!/usr/bin/env node` (npm's own, tsc's) look here.
    [[ -e $1/usr/bin/env ]] || ln -s /bin/busybox "$1/usr/bin/env"
}

# Copy <file>s, symlinks followed, to the same paths inside <rootfs> (a program and the shared
# libraries lib_closure lists; the loader finds them there without an ld.so.cache).
copy_closure() { # <rootfs> <file...>
    local r=$1 f
    shift
    for f in "$@"; do
        mkdir -p "$r$(dirname "$f")"
        cp -L --preserve=mode "$f" "$r$f"
    done
}

# docker import of <rootfs> as <name>, with Dockerfile instructions (--change), tagged with
# its other names; then docker save of all of them into <out.tar>.
docker_import_rootfs() { # <rootfs> <out.tar> <names> <change...>
    local rootfs=$1 out=$2 names=() change args=() n
    read -r -a names <<<"$3"
    shift 3
    for change in "$@"; do args+=(--change "$change"); done
    tar --numeric-owner -C "$rootfs" -cf - . |
        docker import "${args[@]}" --message "chainfleet scripts/images.sh" - "${names[0]}" >/dev/null
    for n in "${names[@]:1}"; do docker tag "${names[0]}" "$n"; done
    docker save -o "$out" "${names[@]}"
}

# --- one function per image: build_<image> <tmpdir> <out.tar> <names> <key> <image> ------

build_pause() {
    # Upstream's image: FROM scratch, ADD /pause, USER 65535:65535, ENTRYPOINT ["/pause"]
    # (kubernetes build/pause/Dockerfile).
    mkdir -p "$1/rootfs"
    (cd "$ROOT/tools/pause" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
        go build -trimpath -ldflags "-s -w" -o "$1/rootfs/pause" .)
    docker_import_rootfs "$1/rootfs" "$2" "$3" "USER 65535:65535" 'ENTRYPOINT ["/pause"]' \
        "LABEL chainfleet.image-key=$4"
}

build_busybox() {
    # Debian bookworm's busybox-static is BusyBox 1.35.0, not 1.36: the tag is the name the
    # stacks use (lib/snapshot.ts), not a version claim. Like the official image: every applet
    # in /bin, CMD ["sh"].
    rootfs_base "$1/rootfs"
    rootfs_busybox "$1/rootfs"
    docker_import_rootfs "$1/rootfs" "$2" "$3" "ENV PATH=$DEFAULT_PATH" 'CMD ["sh"]' \
        "LABEL chainfleet.image-key=$4"
}

build_cometbft() {
    # As CometBFT's own image (DOCKER/Dockerfile and DOCKER/docker-entrypoint.sh in the module,
    # at this version): CMTHOME=/cometbft, user tmuser (uid 100, gid 1000) with that home,
    # /usr/bin/cometbft, the entrypoint script (it runs `cometbft init` on an empty home), and
    # bash, curl and jq, which that script and Kubernetes probes use. Here they come from
    # Debian (bash-static; curl and jq with their libraries from this host) plus BusyBox for
    # sh, sed, grep, wget, ..., instead of golang:alpine.
    local r=$1/rootfs version moddir deb x
    version=$(cometbft_version "$5")
    rootfs_base "$r"
    mkdir -p "$r/cometbft" "$r/usr/local/bin"
    if [[ $5 == cometbft ]]; then
        # The same wrapper module as scripts/tools.sh, but static: the image has no libc for it.
        (cd "$ROOT/tools/cometbft" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build \
            -trimpath -gcflags=all=-dwarf=false -ldflags "-s -w" -o "$r/usr/bin/cometbft" github.com/cometbft/cometbft/cmd/cometbft)
    else
        (cd "$1" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="$r/usr/bin" go install -trimpath -gcflags=all=-dwarf=false \
            -ldflags "-s -w" "github.com/cometbft/cometbft/cmd/cometbft@$version")
    fi
    # The module version from the binary's build info: `cometbft version` prints a constant that
    # upstream does not always bump (v0.38.20's still says 0.38.19).
    [[ $(go version -m "$r/usr/bin/cometbft" | awk '$2 == "github.com/cometbft/cometbft" { print $3 }') == "$version" ]] ||
        die "the cometbft built is not github.com/cometbft/cometbft $version"
    moddir=$(cd "$1" && GOFLAGS="" go mod download -json "github.com/cometbft/cometbft@$version" | jq -r .Dir)
    install -m 0755 "$moddir/DOCKER/docker-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
    deb=$(fetch_deb bash-static)
    x=$(mktemp -d)
    dpkg-deb -x "$deb" "$x"
    install -m 0755 "$x/bin/bash-static" "$r/bin/bash"
    rm -rf "$x"
    local files
    mapfile -t files < <(lib_closure "${CURL_JQ[@]}")
    copy_closure "$r" "${files[@]}" "$CA_BUNDLE"
    rootfs_busybox "$r"
    # Alpine's `adduser -S -G tmuser tmuser -h /cometbft` (system user 100, group 1000 as the
    # Dockerfile's comment says).
    echo 'tmuser:x:100:1000:Linux User,,,:/cometbft:/sbin/nologin' >>"$r/etc/passwd"
    echo 'tmuser:x:1000:tmuser' >>"$r/etc/group"
    chown 100:1000 "$r/cometbft"
    docker_import_rootfs "$r" "$2" "$3" \
        "ENV PATH=$DEFAULT_PATH" "ENV CMTHOME=/cometbft" \
        "ENV PROXY_APP=kvstore MONIKER=dockernode CHAIN_ID=dockerchain" \
        "USER tmuser" "WORKDIR /cometbft" "EXPOSE 26656 26657 26660" 'VOLUME ["/cometbft"]' \
        'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["node"]' "LABEL chainfleet.image-key=$4"
}
build_cometbft-next() { build_cometbft "$@"; }

build_node-agent() {
    # FROM scratch: the static agent (CGO_ENABLED=0, node-agent/build.sh) and nothing else. Pods
    # run `chainfleet-agent install --to /chainfleet/bin` (lib/nodeHome.ts), which copies it into
    # an emptyDir for the node's own image. USER: the UID of chainfleet's pods (lib/podSecurity.ts).
    local r=$1/rootfs names
    names=$(image_names node-agent)
    mkdir -p "$r/usr/local/bin" "$r/tmp"
    chmod 1777 "$r/tmp"
    bash "$ROOT/node-agent/build.sh" "$r/usr/local/bin" "${names##*:}" >&2
    docker_import_rootfs "$r" "$2" "$3" "ENV PATH=/usr/local/bin" "USER 10001:10001" \
        'ENTRYPOINT ["/usr/local/bin/chainfleet-agent"]' 'CMD ["help"]' "LABEL chainfleet.image-key=$4"
}

build_testchain() {
    # /usr/bin/testchaind (static) and BusyBox (chainfleet runs `/bin/sh -c` scripts in the node
    # image; probes use wget). No HOME is assumed: chainfleet passes --home. The binary is the
    # one scripts/tools.sh built (cached there: not compiled again when it is).
    local r=$1/rootfs bin=testchaind-${5#testchain-} dir
    dir="$CHAINFLEET_TOOLS/testchain-$CHAINFLEET_TESTCHAIN_KEY/bin"
    [[ -x $dir/$bin ]] || nice bash "$ROOT/scripts/tools.sh" testchain >&2
    [[ -x $dir/$bin ]] || die "scripts/tools.sh testchain did not leave $dir/$bin"
    rootfs_base "$r"
    install -m 0755 "$dir/$bin" "$r/usr/bin/testchaind"
    rootfs_busybox "$r"
    docker_import_rootfs "$r" "$2" "$3" "ENV PATH=$DEFAULT_PATH" "WORKDIR /" \
        'ENTRYPOINT ["/usr/bin/testchaind"]' 'CMD ["version"]' "LABEL chainfleet.image-key=$4"
}
build_testchain-047-v1() { build_testchain "$@"; }
build_testchain-050-v2() { build_testchain "$@"; }
build_testchain-050-v1() { build_testchain "$@"; }

build_node() {
    # Like node:20-slim (docker-library/node 20/bookworm-slim): node in /usr/local/bin, npm in
    # /usr/local/lib/node_modules with its bin links, user node (1000), the entrypoint script
    # that prepends `node` to options, CMD ["node"]. Made from this host's node (Debian's
    # loader and libraries beside it) and its npm, with BusyBox for /bin/sh and /usr/bin/env;
    # no yarn or corepack. Enough for monitor/Dockerfile's `npm ci` and `npx tsc`.
    local r=$1/rootfs node version npm files
    node=$(readlink -f "$(command -v node)")
    version=$(node --version)
    [[ $version == v20.* ]] || die "node:20-slim needs Node.js 20 on this host, found $version"
    npm=$(npm_dir)
    rootfs_base "$r"
    mapfile -t files < <(lib_closure "$node" | grep -vxF "$node")
    copy_closure "$r" "${files[@]}" "$CA_BUNDLE"
    install -m 0755 "$node" "$r/usr/local/bin/node"
    mkdir -p "$r/usr/local/lib/node_modules" "$r/home/node"
    cp -a "$npm" "$r/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
    # npm trusts the CA bundle (this host's, so also the TLS-inspecting egress CA that machines
    # like this one put there; node's built-in list lacks it and `npm ci` would fail with
    # SELF_SIGNED_CERT_IN_CHAIN), as this host's npm does. Upstream's image has neither file.
    mkdir -p "$r/usr/local/etc"
    echo "cafile=$CA_BUNDLE" >"$r/usr/local/etc/npmrc"
    rootfs_busybox "$r"
    echo 'node:x:1000:1000::/home/node:/bin/sh' >>"$r/etc/passwd"
    echo 'node:x:1000:' >>"$r/etc/group"
    chown 1000:1000 "$r/home/node"
    cat >"$r/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e

# Run command with node if the first argument contains a "-" or is not a system command. The last
# part inside the "{}" is a workaround for the following bug in ash/dash:
# https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=874264
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
EOF
    chmod 0755 "$r/usr/local/bin/docker-entrypoint.sh"
    docker_import_rootfs "$r" "$2" "$3" "ENV PATH=$DEFAULT_PATH" "ENV NODE_VERSION=${version#v}" \
        'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["node"]' "LABEL chainfleet.image-key=$4"
}

build_monitor() {
    # monitor/Dockerfile as it is, with the legacy builder, from the allow-listed context.
    # --network host: the daemon has no bridge, and `npm ci` needs the npm registry.
    local names=() n
    read -r -a names <<<"$3"
    ensure_loaded node
    monitor_context "$1/context.tar"
    docker build --network host --force-rm --label "chainfleet.image-key=$4" \
        -f monitor/Dockerfile -t "${names[0]}" - <"$1/context.tar"
    for n in "${names[@]:1}"; do docker tag "${names[0]}" "$n"; done
    docker save -o "$2" "${names[@]}"
}

# --- docker -------------------------------------------------------------------------------

docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# A docker daemon at $DOCKER_HOST: the one there, or one started here.
ensure_docker() {
    [[ -n ${DOCKER_READY:-} ]] && return
    if ! docker_answers; then
        [[ $DOCKER_HOST == "$DEFAULT_DOCKER_HOST" ]] || die "no docker daemon answers at $DOCKER_HOST (CHAINFLEET_DOCKER_HOST)"
        command -v dockerd >/dev/null || die "dockerd not found (Debian package docker.io)"
        [[ $(id -u) == 0 ]] || die "starting dockerd needs root"
        local lock
        mkdir -p "$RUN_DIR"
        exec {lock}>"$RUN_DIR/.dockerd.lock"
        flock "$lock"
        if ! docker_answers; then
            log "starting dockerd at $DOCKER_HOST (data root $CHAINFLEET_CACHE/docker, log $IMAGES_DIR/dockerd.log)"
            # No --containerd: dockerd then starts a containerd of its own under --exec-root
            # (unless one runs at /run/containerd/containerd.sock, which it would share).
            # Without our open files: an inherited lock fd would hold that lock for its lifetime.
            (
                for fd in "/proc/$BASHPID/fd"/*; do
                    fd=${fd##*/}
                    if ((fd > 2)); then eval "exec $fd>&-"; fi
                done
                exec setsid dockerd --host "$DEFAULT_DOCKER_HOST" \
                    --data-root "$CHAINFLEET_CACHE/docker" --exec-root "$RUN_DIR/docker-exec" \
                    --pidfile "$RUN_DIR/docker.pid" --bridge none --iptables=false --ip-forward=false \
                    --ip-masq=false --log-level warn
            ) </dev/null >>"$IMAGES_DIR/dockerd.log" 2>&1 &
            local i
            for ((i = 0; i < 120; i++)); do
                docker_answers && break
                kill -0 $! 2>/dev/null || die "dockerd exited; see $IMAGES_DIR/dockerd.log"
                sleep 0.5
            done
            docker_answers || die "dockerd did not answer within 60s; see $IMAGES_DIR/dockerd.log"
        fi
        exec {lock}>&-
    fi
    DOCKER_READY=1
}

stop_docker() {
    local pidfile=$RUN_DIR/docker.pid pid i
    if [[ ! -s $pidfile ]] || ! pid=$(cat "$pidfile") || ! kill -0 "$pid" 2>/dev/null; then
        log "no dockerd of ours is running"
        return
    fi
    kill -TERM "$pid"
    for ((i = 0; i < 60; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            # The network namespace mount dockerd keeps for its next start.
            if grep -q " $RUN_DIR/docker-exec/netns/default " /proc/mounts; then
                umount "$RUN_DIR/docker-exec/netns/default" || true
            fi
            log "dockerd ($pid) stopped"
            return
        fi
        sleep 0.5
    done
    die "dockerd ($pid) did not stop within 30s"
}

# --- cache --------------------------------------------------------------------------------

marker_field() { sed -n "s/^$2=//p" "$1"; } # <marker> <field>

# The image <image> in the docker daemon, loaded from the cache when it is missing there or
# different (a dependency of another build: the monitor's FROM node:20-slim).
ensure_loaded() { # <image>
    local key names=() id
    compute_key "$1"
    key=${KEYS[$1]}
    read -r -a names <<<"$(image_names "$1")"
    [[ -f "$IMAGES_DIR/$1-$key.complete" ]] || build_image "$1"
    id=$(marker_field "$IMAGES_DIR/$1-$key.complete" id)
    if [[ $(docker image inspect -f '{{.Id}}' "${names[0]}" 2>/dev/null) != "$id" ]]; then
        docker load -q -i "$IMAGES_DIR/$1-$key.tar" >/dev/null
    fi
}

# build_image <image>: reuse <cache>/images/<image>-<key>.tar or build it, timing either way.
build_image() {
    local img=$1 key names out tmp start elapsed lock id size
    start=$(date +%s)
    compute_key "$img"
    key=${KEYS[$img]}
    names=$(image_names "$img")
    out="$IMAGES_DIR/$img-$key"
    exec {lock}>"$IMAGES_DIR/.$img.lock"
    flock "$lock"
    if [[ -f $out.complete && -f $out.tar && $FORCE != *" $img "* ]]; then
        log "$img $key: cached, $(($(date +%s) - start))s ($names)"
        exec {lock}>&-
        return
    fi
    [[ $(id -u) == 0 ]] || die "building images needs root (dockerd, file owners)"
    log "$img $key: building ($names) ..."
    ensure_docker
    local old old_ids=()
    for old in "$IMAGES_DIR/$img"-*.complete; do
        if [[ -f $old ]]; then old_ids+=("$(marker_field "$old" id)"); fi
    done
    rm -rf "$IMAGES_DIR/.build-$img".*
    tmp=$(mktemp -d "$IMAGES_DIR/.build-$img.XXXXXX")
    "build_$img" "$tmp" "$tmp/image.tar" "$names" "$key" "$img"
    id=sha256:$(tar -xOf "$tmp/image.tar" manifest.json | jq -r '.[0].Config' | sed 's/^blobs\/sha256\///; s/\.json$//')
    mv "$tmp/image.tar" "$out.tar"
    rm -rf "$tmp"
    elapsed=$(($(date +%s) - start))
    size=$(du -m --apparent-size "$out.tar" | cut -f1)
    printf '%s\n' "key=$key" "names=$names" "id=$id" "seconds=$elapsed" "size_mb=$size" \
        "built=$(date -u +%FT%TZ)" >"$out.complete"
    # Earlier builds of this image: their files, and in the daemon their images (untagged now).
    for old in "${old_ids[@]}"; do
        [[ $old == "$id" ]] || docker rmi "$old" >/dev/null 2>&1 || true
    done
    find "$IMAGES_DIR" -maxdepth 1 -name "$img-*" ! -name "$img-$key.*" -delete
    exec {lock}>&-
    log "$img $key: built in ${elapsed}s, ${size} MB ($id)"
    BUILT_SECONDS+=("$img=${elapsed}s")
}

# --- containerd ---------------------------------------------------------------------------

# docker.io/library/ completion, as containerd (and the kubelet) normalise names.
normalize() {
    local n=$1 first=${1%%/*}
    if [[ $n != */* ]]; then
        n=docker.io/library/$n
    elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
        n=docker.io/$n
    fi
    echo "$n"
}

CTR=(ctr --address "$CONTAINERD_SOCK" --namespace k8s.io)

# Does containerd have <name> as the image whose config is <id>?
containerd_has() { # <name> <id>
    local digest
    digest=$("${CTR[@]}" images ls "name==$1" 2>/dev/null | awk 'NR == 2 { print $3 }')
    [[ -n $digest ]] && [[ $("${CTR[@]}" content get "$digest" 2>/dev/null | jq -r '.config.digest // empty') == "$2" ]]
}

import_image() { # <image>
    local img=$1 key marker id names=() n missing=() start
    start=$(date +%s)
    compute_key "$img"
    key=${KEYS[$img]}
    marker="$IMAGES_DIR/$img-$key.complete"
    id=$(marker_field "$marker" id)
    read -r -a names <<<"$(marker_field "$marker" names)"
    for n in "${names[@]}"; do
        containerd_has "$(normalize "$n")" "$id" || missing+=("$n")
    done
    if ((${#missing[@]} == 0)); then
        log "$img: containerd has it (${names[*]})"
        return
    fi
    "${CTR[@]}" images import "$IMAGES_DIR/$img-$key.tar" >/dev/null
    for n in "${names[@]}"; do
        containerd_has "$(normalize "$n")" "$id" || die "$img: containerd has no $(normalize "$n") after the import"
    done
    log "$img: imported in $(($(date +%s) - start))s (${names[*]})"
}

# --- driver -------------------------------------------------------------------------------

list_images() {
    local img key marker state size
    printf '%-16s %-17s %8s  %-30s %s\n' IMAGE KEY SIZE STATE NAMES
    for img in "${ALL_IMAGES[@]}" "${TESTCHAIN_IMAGES[@]}"; do
        compute_key "$img"
        key=${KEYS[$img]}
        marker="$IMAGES_DIR/$img-$key.complete"
        if [[ -f $marker && -f $IMAGES_DIR/$img-$key.tar ]]; then
            size="$(marker_field "$marker" size_mb) MB"
            state="cached ($(marker_field "$marker" seconds)s to build)"
        else
            size=-
            state="not built"
        fi
        printf '%-16s %-17s %8s  %-30s %s\n' "$img" "$key" "$size" "$state" "$(image_names "$img")"
    done
}

main() {
    local cmd=build arg images=() img total_start
    FORCE=" "
    if [[ ${1:-} == run ]]; then
        # run <image> [args...]: the image in a throwaway container (a check that it starts),
        # with a daemon up and the image loaded even when its build was cached.
        shift
        (($#)) || die "run needs an image (one of ${ALL_IMAGES[*]})"
        local image=$1 names=()
        shift
        image_names "$image" >/dev/null
        mkdir -p "$IMAGES_DIR"
        load_deb_shas
        ensure_docker
        ensure_loaded "$image"
        read -r -a names <<<"$(image_names "$image")"
        docker run --rm "${names[0]}" "$@"
        return
    fi
    if [[ ${1:-} == daemon ]]; then
        # daemon [image...]: what `run` does before it runs, for a caller that runs docker itself.
        shift
        for img in "$@"; do image_names "$img" >/dev/null; done
        mkdir -p "$IMAGES_DIR"
        load_deb_shas
        ensure_docker
        for img in "$@"; do ensure_loaded "$img"; done
        echo "DOCKER_HOST=$DOCKER_HOST"
        return
    fi
    case "${1:-}" in
    build | import | list | stop) cmd=$1; shift ;;
    -h | --help) usage; exit 0 ;;
    esac
    for arg in "$@"; do
        case "$arg" in
        --force) [[ $cmd == build ]] || die "--force goes with build"; FORCE=force ;;
        -h | --help) usage; exit 0 ;;
        -*) die "unknown option $arg" ;;
        *) image_names "$arg" >/dev/null; images+=("$arg") ;;
        esac
    done
    ((${#images[@]})) || images=("${ALL_IMAGES[@]}")
    [[ $FORCE == force ]] && FORCE=" ${images[*]} "
    mkdir -p "$IMAGES_DIR"

    case "$cmd" in
    stop) stop_docker; return ;;
    list) load_deb_shas; list_images; return ;;
    esac

    command -v go >/dev/null || die "go is not on PATH (expected Go >= 1.26 at /usr/local/go/bin)"
    command -v jq >/dev/null || die "jq not found (Debian package jq)"
    load_deb_shas
    BUILT_SECONDS=()
    total_start=$(date +%s)
    for img in "${images[@]}"; do build_image "$img"; done
    log "images ready in $(($(date +%s) - total_start))s${BUILT_SECONDS:+ (built: ${BUILT_SECONDS[*]})}"
    [[ -n ${DOCKER_READY:-} && $DOCKER_HOST == "$DEFAULT_DOCKER_HOST" ]] &&
        log "dockerd stays up for the next build at $DOCKER_HOST (scripts/images.sh stop)"
    if [[ $cmd == import ]]; then
        "${CTR[@]}" version >/dev/null 2>&1 ||
            die "no containerd answers at $CONTAINERD_SOCK (start the node, or set CHAINFLEET_CONTAINERD_SOCK)"
        for img in "${images[@]}"; do import_image "$img"; done
    fi
}

# Called on the last line so bash has read the whole file before anything runs.
main "$@"; exit $?
