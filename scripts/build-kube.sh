#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager 1.20.2 from Debian's `kubernetes` source
# package (see ../shared/KUBE-HARNESS.md) and installs etcd. Cached outside the clone, keyed by
# the source version, so a fresh clone on the same machine reuses it. Idempotent; prints the
# folder holding the binaries as its last line.
set -euo pipefail

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/milvus-upgrade-bot"
key="kubernetes-1.20.2"
out="$cache_root/kube/$key"
mkdir -p "$cache_root/kube"

have_binaries() { [ -s "$out/kube-apiserver" ] && [ -s "$out/kube-controller-manager" ]; }
need_pkgs() {
  local missing=()
  for p in golang-go etcd-server rsync jq openssl; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  echo "${missing[@]:-}"
}
say() { echo "build-kube: $*" >&2; }
die() { echo "build-kube: ERROR: $*" >&2; exit 1; }

# One build at a time on this machine.
exec 9>"$cache_root/kube/.lock"
flock 9

missing=$(need_pkgs)
if [ -n "$missing" ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages ($missing) and not root: install them with apt-get"
  say "installing Debian packages: $missing"
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || die "apt-get install $missing failed"
fi
command -v etcd >/dev/null || die "etcd not found after installing etcd-server"

if have_binaries; then
  echo "$out"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "building Kubernetes needs apt-get source entries; run as root once"
src_list=/etc/apt/sources.list.d/milvus-upgrade-bot-src.sources
if [ ! -f "$src_list" ]; then
  # Copy the machine's own deb entries as deb-src ones, so no host name is written here.
  [ -f /etc/apt/sources.list.d/debian.sources ] || die "no /etc/apt/sources.list.d/debian.sources to derive deb-src entries from"
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$src_list"
  apt-get update -qq || die "apt-get update (deb-src) failed"
fi

work="$cache_root/kube/src"
mkdir -p "$work"
cd "$work"
if ! ls kubernetes_*.orig.tar.gz >/dev/null 2>&1; then
  say "downloading the Debian source package kubernetes"
  apt-get source --download-only kubernetes >/dev/null 2>&1 || { apt-get update -qq; apt-get source --download-only kubernetes; } || die "apt-get source kubernetes failed"
fi
tarball=$(ls kubernetes_*.orig.tar.gz | head -n1)
tree="$work/tree"
if [ ! -f "$tree/.unpacked" ]; then
  rm -rf "$tree"; mkdir -p "$tree"
  tar -xzf "$tarball" -C "$tree" --strip-components=1 || die "cannot unpack $tarball"
  touch "$tree/.unpacked"
fi
cd "$tree"
mkdir -p .go/src/k8s.io
[ -e .go/src/k8s.io/kubernetes ] || ln -s ../../.. .go/src/k8s.io/kubernetes
# A failed earlier run leaves 0-byte generator binaries behind; start clean.
rm -rf _output
mkdir -p "$work/home"
say "building kube-apiserver and kube-controller-manager (about 6 minutes on 2 cores)"
if ! GOPATH="$tree/.go" HOME="$work/home" CGO_ENABLED=0 \
     make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" > "$work/build.log" 2>&1; then
  tail -n 30 "$work/build.log" >&2
  die "make failed (full log: $work/build.log)"
fi
mkdir -p "$out.tmp"
cp _output/bin/kube-apiserver _output/bin/kube-controller-manager "$out.tmp/"
rm -rf "$out"; mv "$out.tmp" "$out"
rm -rf _output
have_binaries || die "binaries missing after build"
echo "$out"
