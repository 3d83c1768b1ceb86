#!/usr/bin/env bash
# Builds a Java 17 JRE base image from Debian packages alone, for hosts that reach no container
# registry (air-gapped, or these build machines). Then build Starling on it:
#   deploy/docker/build-base-image.sh                       # -> starling-base:bookworm
#   docker build -f deploy/docker/Dockerfile --build-arg BASE_IMAGE=starling-base:bookworm -t starling:latest .
#
# Usage: build-base-image.sh [--force] [IMAGE]
#   IMAGE    name to give the image (default starling-base:bookworm)
#   --force  rebuild even if the image exists
# Environment: DEBIAN_MIRROR (default: the Debian mirror apt on this host uses), SUITE (bookworm).
# Needs root, debootstrap and a running Docker engine. Takes ~80 s and ~490 MB.
set -euo pipefail

force=0
image=starling-base:bookworm
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "build-base-image: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) image="$arg" ;;
  esac
done
suite="${SUITE:-bookworm}"

if [[ $force == 0 ]] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "build-base-image: $image exists (use --force to rebuild)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "build-base-image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build-base-image: no Docker engine answers (start dockerd first)" >&2; exit 1; }

# The mirror apt already uses here: the first Debian archive URI in its sources.
mirror="${DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  mirror="$(grep -hoE '(https?|file)://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | head -n 1 | tr -d ' ' || true)"
fi
[[ -n "$mirror" ]] || { echo "build-base-image: no Debian mirror found in apt's sources; set DEBIAN_MIRROR" >&2; exit 1; }

rootfs="$(mktemp -d /tmp/starling-base.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "build-base-image: debootstrap $suite from $mirror into $rootfs"
debootstrap --variant=minbase --include=openjdk-17-jre-headless "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -n 30 "$rootfs.log" >&2; echo "build-base-image: debootstrap failed (full log $rootfs.log)" >&2; exit 1; }
rm -f "$rootfs.log"
# Package caches and lists only make the image bigger.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

echo "build-base-image: importing as $image"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$image" >/dev/null
docker run --rm "$image" java -version
echo "build-base-image: $image ready"
