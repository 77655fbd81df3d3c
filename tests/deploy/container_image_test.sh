#!/usr/bin/env bash
# Builds deploy/container/Containerfile's `prebuilt` target with buildah from
# the hephyd and hephy-hook of this build, then runs the image's entrypoint
# with --version and asserts it prints "hephyd VERSION". Then builds
# Containerfile.kaniko from that image onto a stand-in for the Kaniko debug
# image (busybox and /kaniko, no C library) and runs hephyd and git there.
#
#   container_image_test.sh SOURCE_DIR BINARY_DIR CACHE_DIR VERSION
#
# Nothing comes from a container registry: the Debian 12 base image is made
# with mmdebstrap from Debian's package mirror, once, and kept (with buildah's
# storage) in CACHE_DIR, so that later runs only build the image itself.
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: $0 SOURCE_DIR BINARY_DIR CACHE_DIR VERSION" >&2
  exit 2
fi
source_dir=$1 binary_dir=$2 cache_dir=$3 version=$4
mirror=${HEPHY_DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
for tool in buildah mmdebstrap; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps installs it)"
done

mkdir -p "$cache_dir"
# overlay shares layers instead of copying them (vfs copies the whole root
# file system for every layer: minutes here), but needs root.
driver=vfs
if [ "$(id -u)" -eq 0 ]; then driver=overlay; fi
buildah=(buildah --root "$cache_dir/storage-$driver" --runroot "$cache_dir/run-$driver"
  --storage-driver "$driver")
base_image=localhost/hephy-test/debian:12
image=localhost/hephy-test/hephyd:$version
kaniko_image=localhost/hephy-test/kaniko-standin:debug
hephyd_kaniko_image=localhost/hephy-test/hephyd-kaniko:$version
scratch=$(mktemp -d)
containers=()
cleanup() {
  for c in "${containers[@]}"; do "${buildah[@]}" rm "$c" >/dev/null || true; done
  for i in "$hephyd_kaniko_image" "$image" "$kaniko_image"; do
    "${buildah[@]}" rmi "$i" >/dev/null 2>&1 || true
  done
  rm -rf "$scratch"
}
trap cleanup EXIT

if ! "${buildah[@]}" inspect --type image "$base_image" >/dev/null 2>&1; then
  echo "making $base_image with mmdebstrap from $mirror (once; cached in $cache_dir)"
  # As debian:12-slim: no documentation, manual pages or translations.
  mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$scratch/rootfs.tar" "$mirror"
  base=$("${buildah[@]}" from scratch)
  "${buildah[@]}" add "$base" "$scratch/rootfs.tar" / >/dev/null
  "${buildah[@]}" commit --quiet --rm "$base" "$base_image" >/dev/null
  rm -f "$scratch/rootfs.tar"
fi

# The `binaries` build context holds only the two programs, without their
# debugging information (most of a RelWithDebInfo hephyd's size).
mkdir "$scratch/binaries"
for program in hephyd hephy-hook; do
  strip --strip-debug -o "$scratch/binaries/$program" "$binary_dir/$program"
done
"${buildah[@]}" build --quiet --isolation chroot --layers \
  -f "$source_dir/deploy/container/Containerfile" --target prebuilt \
  --build-arg RUNTIME_IMAGE="$base_image" --build-context binaries="$scratch/binaries" \
  -t "$image" "$source_dir" >/dev/null

entrypoint=$("${buildah[@]}" inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$image")
[ "$entrypoint" = '[/usr/local/bin/hephyd]' ] ||
  fail "the image's entrypoint is $entrypoint, expected [/usr/local/bin/hephyd]"
user=$("${buildah[@]}" inspect --type image --format '{{.OCIv1.Config.User}}' "$image")
[ "$user" = "10001:10001" ] || fail "the image runs as '$user', expected the user hephy (10001:10001)"

container=$("${buildah[@]}" from "$image")
containers+=("$container")
output=$("${buildah[@]}" run --isolation chroot "$container" -- /usr/local/bin/hephyd --version)
[ "$output" = "hephyd $version" ] ||
  fail "'hephyd --version' in the image printed '$output', expected 'hephyd $version'"

# The image's own configuration parses and its state directory is writable
# by its user: an admin command creates the database there.
"${buildah[@]}" run --isolation chroot "$container" -- /usr/local/bin/hephyd users list >/dev/null ||
  fail "'hephyd users list' failed in the image (its /etc/hephy/hephy.yaml or /var/lib/hephy)"
"${buildah[@]}" run --isolation chroot "$container" -- test -x /usr/local/bin/hephy-hook ||
  fail "hephy-hook is not beside hephyd in /usr/local/bin"
echo "ok: $image runs '$output'"

# What Containerfile.kaniko relies on in a Kaniko debug image: /busybox,
# /kaniko/executor and Kaniko's CA bundle, and nothing else (no C library).
kaniko=$("${buildah[@]}" from scratch)
containers+=("$kaniko")
mkdir -p "$scratch/kaniko/busybox" "$scratch/kaniko/kaniko/ssl/certs"
cp /bin/busybox "$scratch/kaniko/busybox/busybox"
ln -s busybox "$scratch/kaniko/busybox/sh"
printf '#!/busybox/sh\necho "stand-in Kaniko executor: $*"\n' >"$scratch/kaniko/kaniko/executor"
chmod 0755 "$scratch/kaniko/kaniko/executor"
cp /etc/ssl/certs/ca-certificates.crt "$scratch/kaniko/kaniko/ssl/certs/"
"${buildah[@]}" copy "$kaniko" "$scratch/kaniko/" / >/dev/null
"${buildah[@]}" commit --quiet "$kaniko" "$kaniko_image" >/dev/null

"${buildah[@]}" build --quiet --isolation chroot --layers \
  -f "$source_dir/deploy/container/Containerfile.kaniko" \
  --build-arg HEPHYD_IMAGE="$image" --build-arg KANIKO_IMAGE="$kaniko_image" \
  -t "$hephyd_kaniko_image" "$source_dir" >/dev/null
container=$("${buildah[@]}" from "$hephyd_kaniko_image")
containers+=("$container")
run_kaniko() { "${buildah[@]}" run --isolation chroot "$container" -- "$@"; }
if run_kaniko /busybox/sh -c '[ -e /usr/lib ] || [ -e /lib ] || [ -e /lib64 ]' 2>/dev/null; then
  fail "the Kaniko stand-in has a /usr/lib, /lib or /lib64: it would hide a missing library"
fi
output=$(run_kaniko /kaniko/hephy/bin/hephyd --version)
[ "$output" = "hephyd $version" ] ||
  fail "'hephyd --version' in the Kaniko image printed '$output', expected 'hephyd $version'"
output=$(run_kaniko /busybox/sh -c 'git --version && git init -q /tmp/repo && git -C /tmp/repo rev-parse --git-dir')
[[ $output == "git version "*$'\n'.git ]] ||
  fail "git in the Kaniko image: '$output'"
echo "ok: $hephyd_kaniko_image runs hephyd and git from /kaniko/hephy"
