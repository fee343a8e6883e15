#!/usr/bin/env bash
# Make the local base image the image tests build on: Debian bookworm (minbase) with python3,
# python3-venv and ca-certificates, and `python` linked to python3 — the same shape as the
# official python:3.x-slim image the Dockerfiles default to, made without any registry.
#
# Idempotent and cached: an existing image is kept; otherwise the root file system tarball in
# $XETRA_IMAGE_CACHE is imported, and only when that is missing is it made with debootstrap.
#
#   images/base-image.sh                    # -> localhost/xetra-base:bookworm
#   XETRA_BASE_REBUILD=1 images/base-image.sh   # remake the tarball and the image
set -euo pipefail

name="${XETRA_BASE_IMAGE:-localhost/xetra-base:bookworm}"
cache_dir="${XETRA_IMAGE_CACHE:-/var/cache/xetra-images}"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
tarball="$cache_dir/$suite-python-rootfs.tar"

log() { printf 'base-image: %s\n' "$*" >&2; }

for tool in buildah debootstrap; do
    command -v "$tool" >/dev/null || { log "$tool is missing: run 'make images-deps'"; exit 1; }
done

if [[ "${XETRA_BASE_REBUILD:-0}" == 1 ]]; then
    rm -f "$tarball"
    buildah rmi "$name" >/dev/null 2>&1 || true
fi

if buildah inspect --type image "$name" >/dev/null 2>&1; then
    log "$name exists"
    exit 0
fi

mkdir -p "$cache_dir"
if [[ ! -s "$tarball" ]]; then
    rootfs="$(mktemp -d "$cache_dir/rootfs.XXXXXX")"
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap $suite into $rootfs"
    debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >&2
    cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main
SOURCES
    # Only the chroot's own package manager runs here; nothing from the host goes in.
    chroot "$rootfs" /bin/sh -ec '
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get upgrade -y -qq
        apt-get install -y -qq --no-install-recommends python3 python3-venv ca-certificates
        apt-get clean
        rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
        ln -sf /usr/bin/python3 /usr/local/bin/python
        : >/etc/resolv.conf
    ' >&2
    tar -C "$rootfs" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' \
        --exclude='./sys/*' -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
fi

log "importing $tarball as $name"
container="$(buildah from scratch)"
buildah add "$container" "$tarball" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd python3 "$container"
buildah commit --rm --quiet "$container" "$name" >/dev/null
log "$name ready"
