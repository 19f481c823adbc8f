#!/bin/sh
# snapshot-restore.sh: restore a node's data directory from a snapshot archive, verified by its
# sha256 before a single byte is extracted (seed 004: trust the content hash, not the URL).
# Meant to run as an init container on the node's data volume; lib/snapshot.ts builds that
# container and ships this file in a ConfigMap.
#
# Usage: snapshot-restore.sh TARGET_DIR [WORK_DIR]
#
#   TARGET_DIR  directory the archive's contents become (or $SNAPSHOT_TARGET_DIR). Must be a
#               subdirectory of the volume, not its mount point: it is put in place by renaming.
#   WORK_DIR    download and staging area on the SAME filesystem as TARGET_DIR (or
#               $SNAPSHOT_WORK_DIR; default: <parent of TARGET_DIR>/.chainfleet-snapshot).
#               Only files named snapshot-*, staging-* and quarantine/ are ever touched there.
#
# Environment:
#   SNAPSHOT_URL                http(s) URL of a .tar, .tar.gz/.tgz or .tar.lz4 archive. The
#                               text {arch} is replaced by the architecture (amd64, arm64, ...).
#   SNAPSHOT_SHA256             sha256 of the archive, 64 lower-case hex; or, per architecture,
#   SNAPSHOT_SHA256_AMD64, SNAPSHOT_SHA256_ARM64, ...  (used when SNAPSHOT_SHA256 is empty)
#   SNAPSHOT_ARCH               architecture override; default from `uname -m` (x86_64 -> amd64,
#                               aarch64 -> arm64). A container runs on its node's architecture, so
#                               this equals the node's kubernetes.io/arch label.
#   SNAPSHOT_FORMAT             tar | tar.gz | tar.lz4, when the URL's path does not say
#   SNAPSHOT_STRIP_COMPONENTS   passed to tar --strip-components (default 0)
#   SNAPSHOT_OWNER              uid:gid to chown the restored tree to (default: as archived)
#   SNAPSHOT_DOWNLOAD_ATTEMPTS  download attempts in this run, each resuming (default 5)
#   SNAPSHOT_RETRY_DELAY        seconds between attempts (default 10)
#   SNAPSHOT_KEEP_BAD           1: move an archive that fails verification to WORK_DIR/quarantine/
#                               instead of deleting it (it may be as large as the volume allows)
#
# Behaviour:
#   - TARGET_DIR/.chainfleet-snapshot-restored exists: already restored, exit 0 (idempotent).
#   - TARGET_DIR holds other data (no marker): left alone, exit 0 with a warning; a node that
#     synced on its own is never overwritten.
#   - Downloads to WORK_DIR/snapshot-<sha256>.part, resuming it with an HTTP Range request after
#     an interruption, in this run (attempts) or in the next start of the pod.
#   - Verifies the whole archive; on mismatch extracts nothing, deletes (or quarantines) it and
#     exits 1 naming the expected and actual digests.
#   - Extracts into WORK_DIR/staging-<sha256>, writes the marker there, syncs, then renames the
#     staging directory to TARGET_DIR: a crash leaves either no TARGET_DIR or a complete one.
#   - Exit 0 restored or skipped, 1 failure, 2 bad arguments or environment.
#
# The image needs: a POSIX sh; curl (preferred; resumes with -C -) or a wget that has -c
# (GNU wget, BusyBox wget); sha256sum; tar (GNU or BusyBox, with --strip-components if used);
# gzip for .tar.gz; lz4 for .tar.lz4; and mkdir, mv, rm, rmdir, ls, stat -c, sed, grep, cat, wc,
# tr, dirname, uname, date, sleep, sync, chown (test/unit/snapshot-restore.test.ts runs the script
# with exactly these on PATH). A stock alpine image has all of them but curl and lz4 (BusyBox
# wget resumes too); add `apk add curl lz4` when building the init image.
# Disk: the volume needs room for the archive and the extracted data at once; the archive is
# deleted after a successful restore.
set -eu

PROG=snapshot-restore
MARKER=.chainfleet-snapshot-restored

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
usage() {
    log "usage: $PROG TARGET_DIR [WORK_DIR] (with SNAPSHOT_URL and SNAPSHOT_SHA256 set): $*"
    exit 2
}
have() { command -v "$1" >/dev/null 2>&1; }
size_of() { if [ -f "$1" ]; then wc -c <"$1" | tr -d ' '; else echo 0; fi; }
is_sha256() {
    [ "${#1}" -eq 64 ] || return 1
    case $1 in *[!0-9a-f]*) return 1 ;; esac
}
is_uint() {
    case $1 in '' | *[!0-9]*) return 1 ;; esac
}

# ---- arguments ------------------------------------------------------------------------------
TARGET=${1:-${SNAPSHOT_TARGET_DIR:-}}
[ -n "$TARGET" ] || usage "TARGET_DIR is missing"
while [ "${TARGET%/}" != "$TARGET" ]; do TARGET=${TARGET%/}; done
case $TARGET in
    /?*) ;;
    *) usage "TARGET_DIR must be an absolute path below / (got '$TARGET')" ;;
esac
PARENT=$(dirname "$TARGET")
WORK=${2:-${SNAPSHOT_WORK_DIR:-$PARENT/.chainfleet-snapshot}}
case $WORK in /*) ;; *) usage "WORK_DIR must be an absolute path (got '$WORK')" ;; esac

ATTEMPTS=${SNAPSHOT_DOWNLOAD_ATTEMPTS:-5}
DELAY=${SNAPSHOT_RETRY_DELAY:-10}
STRIP=${SNAPSHOT_STRIP_COMPONENTS:-0}
if ! is_uint "$ATTEMPTS" || [ "$ATTEMPTS" -lt 1 ]; then
    usage "SNAPSHOT_DOWNLOAD_ATTEMPTS must be a whole number >= 1"
fi
is_uint "$DELAY" || usage "SNAPSHOT_RETRY_DELAY must be a whole number of seconds"
is_uint "$STRIP" || usage "SNAPSHOT_STRIP_COMPONENTS must be a whole number"

if [ -n "${SNAPSHOT_ARCH:-}" ]; then
    ARCH=$SNAPSHOT_ARCH
else
    case $(uname -m) in
        x86_64 | amd64) ARCH=amd64 ;;
        aarch64 | arm64) ARCH=arm64 ;;
        *) ARCH=$(uname -m) ;;
    esac
fi
case $ARCH in
    '' | *[!a-z0-9]*) usage "architecture '$ARCH' must be lower-case letters and digits" ;;
esac

EXPECTED=${SNAPSHOT_SHA256:-}
if [ -z "$EXPECTED" ]; then
    ARCH_VAR=SNAPSHOT_SHA256_$(printf '%s' "$ARCH" | tr '[:lower:]' '[:upper:]')
    eval "EXPECTED=\${$ARCH_VAR:-}"
    if [ -z "$EXPECTED" ]; then
        usage "no checksum for architecture $ARCH: set SNAPSHOT_SHA256 or $ARCH_VAR"
    fi
fi
is_sha256 "$EXPECTED" || usage "the sha256 '$EXPECTED' must be 64 lower-case hex characters"

URL=$(printf '%s' "${SNAPSHOT_URL:-}" | sed "s/{arch}/$ARCH/g")
case $URL in
    http://?* | https://?*) ;;
    *) usage "SNAPSHOT_URL must be an http(s) URL (got '${URL%%\?*}')" ;;
esac
# Logs and the marker show the URL without its query: presigned URLs carry credentials there.
URL_SHOWN=${URL%%\?*}
URL_PATH=${URL_SHOWN%%#*}
FORMAT=${SNAPSHOT_FORMAT:-}
if [ -z "$FORMAT" ]; then
    case $URL_PATH in
        *.tar) FORMAT=tar ;;
        *.tar.gz | *.tgz) FORMAT=tar.gz ;;
        *.tar.lz4) FORMAT=tar.lz4 ;;
        *) usage "cannot tell the archive format from '$URL_SHOWN';" \
            "set SNAPSHOT_FORMAT to tar, tar.gz or tar.lz4" ;;
    esac
fi

# ---- already done? --------------------------------------------------------------------------
cleanup_work() {
    rm -rf "$WORK/snapshot-$EXPECTED.part" "$WORK/snapshot-$EXPECTED.archive" \
        "$WORK/staging-$EXPECTED" "$WORK/decompress-$EXPECTED.failed"
}
if [ -f "$TARGET/$MARKER" ]; then
    restored=$(sed -n 's/^sha256=//p' "$TARGET/$MARKER")
    if [ "$restored" = "$EXPECTED" ]; then
        log "$TARGET was already restored from sha256 $EXPECTED; nothing to do"
    else
        log "warning: $TARGET was restored from another snapshot (sha256 $restored); keeping" \
            "it. Wipe the volume to restore sha256 $EXPECTED"
    fi
    [ -d "$WORK" ] && cleanup_work
    exit 0
fi
if [ -e "$TARGET" ] && [ ! -d "$TARGET" ]; then die "$TARGET exists and is not a directory"; fi
if [ -d "$TARGET" ] && [ -n "$(ls -A "$TARGET")" ]; then
    log "warning: $TARGET already holds data that this script did not restore (no $MARKER);" \
        "leaving it alone"
    exit 0
fi

# ---- tools ----------------------------------------------------------------------------------
# Checked before downloading: finding out after hours of download that lz4 is missing wastes them.
if have curl; then DOWNLOADER=curl; elif have wget; then DOWNLOADER=wget; else
    die "neither curl nor wget is installed in this image"
fi
# GNU wget would retry 20 times on its own: one try each keeps SNAPSHOT_DOWNLOAD_ATTEMPTS true,
# and its read timeout turns a stalled connection into a resumed attempt. BusyBox 1.35's wget
# crashes (SIGSEGV) with -T, so it keeps its defaults.
WGET_OPTS=
if [ "$DOWNLOADER" = wget ] && wget --version 2>/dev/null | grep -q 'GNU Wget'; then
    WGET_OPTS="--tries=1 --timeout=120"
fi
have sha256sum || die "sha256sum is not installed in this image"
have tar || die "tar is not installed in this image"
case $FORMAT in
    tar) DECOMPRESS= ;;
    tar.gz) DECOMPRESS=gzip ;;
    tar.lz4) DECOMPRESS=lz4 ;;
    *) usage "SNAPSHOT_FORMAT '$FORMAT' must be tar, tar.gz or tar.lz4" ;;
esac
if [ -n "$DECOMPRESS" ]; then
    have "$DECOMPRESS" || die "$FORMAT archives need $DECOMPRESS, which this image does not have"
fi

mkdir -p "$WORK" "$PARENT"
# The final rename is only atomic within one filesystem; across two, mv would copy file by file.
if [ "$(stat -c %d "$WORK")" != "$(stat -c %d "$PARENT")" ]; then
    die "WORK_DIR $WORK and $PARENT are on different filesystems; put both on the data volume"
fi
# Leftovers of another snapshot (a changed checksum) only take space: they can never be used.
for f in "$WORK"/snapshot-* "$WORK"/staging-* "$WORK"/decompress-*; do
    [ -e "$f" ] || continue
    case ${f##*/} in
        snapshot-"$EXPECTED".* | staging-"$EXPECTED" | decompress-"$EXPECTED".*) ;;
        *) log "removing leftover $f" && rm -rf "$f" ;;
    esac
done

PART=$WORK/snapshot-$EXPECTED.part
ARCHIVE=$WORK/snapshot-$EXPECTED.archive
STAGING=$WORK/staging-$EXPECTED

# ---- download -------------------------------------------------------------------------------
# Sets COMPLETE=1 when the server answered 416 (Range Not Satisfiable) to a resume request: the
# partial file already holds the whole archive (a crash between download and verification).
download() {
    COMPLETE=0
    errors=$WORK/snapshot-$EXPECTED.errors
    if [ "$DOWNLOADER" = curl ]; then
        # -C - resumes from the partial file's size. The speed limit turns a stalled connection
        # into an error, and so into a resumed attempt.
        code=$(curl --fail --location --silent --show-error --continue-at - \
            --connect-timeout 30 --speed-limit 1024 --speed-time 120 \
            --write-out '%{http_code}' --output "$PART" "$URL") && return 0
        status=$?
        [ "$code" = 416 ] && [ -s "$PART" ] && COMPLETE=1
        return "$status"
    fi
    # GNU wget answers 416 with success itself; BusyBox wget fails, saying "416" on stderr.
    # shellcheck disable=SC2086 # WGET_OPTS is a list of options without spaces, or nothing
    wget -c -q $WGET_OPTS -O "$PART" "$URL" 2>"$errors" && { rm -f "$errors"; return 0; }
    status=$?
    cat "$errors" >&2
    grep -q ' 416' "$errors" && [ -s "$PART" ] && COMPLETE=1
    rm -f "$errors"
    return "$status"
}

if [ -f "$ARCHIVE" ]; then
    # Renamed from .part only after it verified: a restart after that need not download again.
    log "using the verified archive $ARCHIVE from an earlier start"
else
    attempt=1
    while :; do
        log "downloading $URL_SHOWN with $DOWNLOADER (attempt $attempt of $ATTEMPTS," \
            "$(size_of "$PART") bytes already in $PART)"
        rc=0
        download || rc=$?
        [ "$rc" -eq 0 ] && break
        if [ "$COMPLETE" = 1 ]; then
            log "the server has nothing past byte $(size_of "$PART"): the download is complete"
            break
        fi
        if [ "$DOWNLOADER" = curl ] && { [ "$rc" -eq 33 ] || [ "$rc" -eq 36 ]; }; then
            # 33/36: the server cannot resume (no Range support); the partial file is useless.
            log "the server cannot resume this download; starting it over"
            rm -f "$PART"
        fi
        if [ "$attempt" -ge "$ATTEMPTS" ]; then
            die "downloading $URL_SHOWN failed $attempt time(s) (last exit code $rc);" \
                "$(size_of "$PART") bytes are kept in $PART and the next start resumes from there"
        fi
        attempt=$((attempt + 1))
        sleep "$DELAY"
    done

    log "verifying sha256 of $(size_of "$PART") bytes"
    ACTUAL=$(sha256sum <"$PART")
    ACTUAL=${ACTUAL%% *}
    if [ "$ACTUAL" != "$EXPECTED" ]; then
        if [ "${SNAPSHOT_KEEP_BAD:-0}" = 1 ]; then
            mkdir -p "$WORK/quarantine"
            mv "$PART" "$WORK/quarantine/snapshot-$EXPECTED.actual-$ACTUAL"
            fate="moved to $WORK/quarantine/"
        else
            rm -f "$PART"
            fate="deleted"
        fi
        die "sha256 mismatch for $URL_SHOWN: expected $EXPECTED, actual $ACTUAL." \
            "Nothing was extracted; the downloaded file was $fate"
    fi
    mv "$PART" "$ARCHIVE"
fi

# ---- extract --------------------------------------------------------------------------------
rm -rf "$STAGING"
mkdir -p "$STAGING"
set --
[ "$STRIP" -gt 0 ] && set -- "--strip-components=$STRIP"
log "extracting ($FORMAT) into $STAGING"
if [ -z "$DECOMPRESS" ]; then
    tar -x -f "$ARCHIVE" -C "$STAGING" "$@" || die "tar failed to extract $ARCHIVE"
else
    # POSIX sh has no pipefail: the decompressor reports its failure through a file.
    FAILED=$WORK/decompress-$EXPECTED.failed
    rm -f "$FAILED"
    { "$DECOMPRESS" -d -c "$ARCHIVE" || : >"$FAILED"; } | tar -x -f - -C "$STAGING" "$@" ||
        die "tar failed to extract $ARCHIVE"
    if [ -e "$FAILED" ]; then
        rm -f "$FAILED"
        die "$DECOMPRESS failed to decompress $ARCHIVE"
    fi
fi
if [ -n "${SNAPSHOT_OWNER:-}" ]; then
    chown -R "$SNAPSHOT_OWNER" "$STAGING" || die "chown -R $SNAPSHOT_OWNER failed"
fi
printf 'sha256=%s\nurl=%s\narch=%s\nrestored_at=%s\n' "$EXPECTED" "$URL_SHOWN" "$ARCH" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$STAGING/$MARKER"
# Data on disk before the rename makes it visible; otherwise a power loss could keep the rename
# and lose file contents.
sync || :
[ -d "$TARGET" ] && rmdir "$TARGET"
mv "$STAGING" "$TARGET"
rm -f "$ARCHIVE"
log "restored $URL_SHOWN (sha256 $EXPECTED) into $TARGET"
