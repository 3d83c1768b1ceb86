#!/usr/bin/env bash
# Builds the base images of deploy/docker/Dockerfile from Debian packages alone, for hosts that
# reach no container registry (air-gapped, or these build machines): a Java 17 JRE base for the
# runtime stage and, with --build, a JDK 17 + Maven base for the build stage. Then:
#   deploy/docker/build-base-image.sh                 # -> starling-base:bookworm (JRE)
#   deploy/docker/build-base-image.sh --build         # -> starling-build-base:bookworm (JDK + Maven)
#   BASE_IMAGE=starling-base:bookworm BUILD_IMAGE=starling-build-base:bookworm docker compose up --build
# (plus BUILD_NETWORK=host on an engine without a default bridge, as in .ci/run).
#
# Usage: build-base-image.sh [--build] [--force] [IMAGE]
#   --build  the build-stage base: openjdk-17-jdk-headless and maven (default name
#            starling-build-base:bookworm) instead of openjdk-17-jre-headless (starling-base:bookworm)
#   IMAGE    name to give the image
#   --force  rebuild even if the image exists
# Environment: DEBIAN_MIRROR (default: the Debian mirror apt on this host uses), SUITE (bookworm),
#   EXTRA_CA_CERTS_DIR (--build only; default /usr/local/share/ca-certificates): *.crt files the
#   build base trusts besides Debian's CAs, e.g. those of a TLS-inspecting proxy this host uses.
# Needs root, debootstrap and a running Docker engine. Measured here (2 vCPU AMD EPYC, shared): the
# JRE base 53-120 s and 330 MB, the build base 67-117 s and 420 MB.
set -euo pipefail

force=0
build=0
image=""
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --build) build=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "build-base-image: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) image="$arg" ;;
  esac
done
suite="${SUITE:-bookworm}"
extra_cas="${EXTRA_CA_CERTS_DIR:-/usr/local/share/ca-certificates}"
if [[ $build == 1 ]]; then
  image="${image:-starling-build-base:$suite}"
  packages=openjdk-17-jdk-headless,maven
  check=(mvn -v)
else
  image="${image:-starling-base:$suite}"
  packages=openjdk-17-jre-headless
  check=(java -version)
fi

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
trap 'umount "$rootfs/proc" 2>/dev/null || true; rm -rf "$rootfs"' EXIT
echo "build-base-image: debootstrap $suite ($packages) from $mirror into $rootfs"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -n 30 "$rootfs.log" >&2; echo "build-base-image: debootstrap failed (full log $rootfs.log)" >&2; exit 1; }
rm -f "$rootfs.log"
if [[ $build == 1 ]]; then
  # The build stage downloads from the Maven repository over HTTPS. Under debootstrap,
  # ca-certificates-java is configured before Java can run, which leaves no Java trust store and
  # Maven fails every download with "PKIX path building failed": build the store now, from
  # Debian's CAs and the ones this host added (e.g. a TLS-inspecting proxy's, as on these
  # build machines). Java finds its libraries through /proc/self/exe.
  for crt in "$extra_cas"/*.crt; do
    [[ -f "$crt" ]] || continue
    echo "build-base-image: trusting this host's CA certificate $crt"
    cp "$crt" "$rootfs/usr/local/share/ca-certificates/"
  done
  mount -t proc proc "$rootfs/proc"
  chroot "$rootfs" update-ca-certificates --fresh >/dev/null
  umount "$rootfs/proc"
  [[ -s "$rootfs/etc/ssl/certs/java/cacerts" ]] \
    || { echo "build-base-image: no Java trust store after update-ca-certificates" >&2; exit 1; }
fi
# Package caches and lists only make the image bigger.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

echo "build-base-image: importing as $image"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$image" >/dev/null
docker run --rm "$image" "${check[@]}"
echo "build-base-image: $image ready"
