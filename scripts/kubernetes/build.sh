#!/usr/bin/env bash
# Builds the Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler;
# kubelet with BERTH_KUBE_KUBELET=1) from Debian bookworm's own `kubernetes` source package, for
# the Kubernetes target's integration suites. Offline but for Debian's archive. With kubelet comes
# `pause`, the static program a pod sandbox runs (the node's pause image is made from it).
#
# The binaries land in a cache outside the repository, keyed by version:
#   ${BERTH_KUBE_CACHE:-/var/cache/berth/kubernetes}/v1.20.2/bin/
# A second run exits 0 at once when they are already there. Everything the build prints goes to
# build.log beside bin/; on failure the script says what failed and where the log is.
set -euo pipefail

VERSION=v1.20.2
CACHE_ROOT="${BERTH_KUBE_CACHE:-/var/cache/berth/kubernetes}"
DIR="$CACHE_ROOT/$VERSION"
BIN="$DIR/bin"
LOG="$DIR/build.log"
TARGETS=(kube-apiserver kube-controller-manager kube-scheduler)
if [ "${BERTH_KUBE_KUBELET:-0}" = 1 ]; then TARGETS+=(kubelet pause); fi

have_all() {
  for t in "${TARGETS[@]}"; do [ -x "$BIN/$t" ] || return 1; done
  command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || return 1
}
if have_all; then
  echo "kubernetes $VERSION: binaries present in $BIN"
  exit 0
fi

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
if ! flock -w 7200 9; then echo "kubernetes build: could not take $DIR/.lock" >&2; exit 1; fi
if have_all; then echo "kubernetes $VERSION: binaries present in $BIN"; exit 0; fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
step() { echo "== $(date -u +%H:%M:%S) $*" >>"$LOG"; echo "kubernetes build: $*"; }
fail() {
  echo "kubernetes build FAILED at: $1" >&2
  echo "  log: $LOG (last lines below)" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 1
}

: >"$LOG"
step "building $VERSION into $BIN (log: $LOG)"

# 1. Debian's source entry for bookworm, the toolchain, etcd and the reflect2 fix.
if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/ ||
   ! grep -rqsE 'bookworm' /etc/apt/sources.list.d/berth-bookworm-src.sources /etc/apt/sources.list 2>/dev/null; then
  step "adding the bookworm deb-src entry"
  as_root tee /etc/apt/sources.list.d/berth-bookworm-src.sources >/dev/null <<'SRC' || fail "writing the deb-src entry"
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$LOG" 2>&1 || fail "apt-get update"
fi
PKGS=(golang-1.19-go etcd-server golang-github-modern-go-reflect2-dev)
need=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >>"$LOG" 2>&1 ||
    { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$LOG" 2>&1;
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >>"$LOG" 2>&1; } ||
    fail "apt-get install ${need[*]}"
fi
# etcd-server starts a system etcd on 2379 when installed; the tests run their own on free ports.
if command -v systemctl >/dev/null 2>&1; then as_root systemctl disable --now etcd >/dev/null 2>&1 || true; fi

GO=/usr/lib/go-1.19/bin/go
[ -x "$GO" ] || fail "go 1.19 not found at $GO"

# 2. The source: the orig tarball is the whole tree with vendor/.
SRCDL="$DIR/download"
mkdir -p "$SRCDL"
if ! ls "$SRCDL"/kubernetes_*.orig.tar.gz >/dev/null 2>&1; then
  step "apt-get source --download-only kubernetes"
  (cd "$SRCDL" && apt-get source --download-only kubernetes) >>"$LOG" 2>&1 || fail "apt-get source kubernetes"
fi
GOPATH_DIR="$DIR/gopath"
TREE="$GOPATH_DIR/src/k8s.io/kubernetes"
if [ ! -f "$TREE/.berth-prepared" ]; then
  step "unpacking the source tree"
  rm -rf "$GOPATH_DIR" "$DIR/tree"
  mkdir -p "$DIR/tree" "$GOPATH_DIR/src/k8s.io"
  tar -xzf "$SRCDL"/kubernetes_*.orig.tar.gz -C "$DIR/tree" --strip-components=1 >>"$LOG" 2>&1 || fail "unpacking the tarball"
  ln -s "$DIR/tree" "$TREE"

  # 3. reflect2 1.0.1 (vendored) segfaults under Go >= 1.18: use Debian's 1.0.2.
  step "replacing vendor/github.com/modern-go/reflect2 with Debian's"
  R2SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
  R2DST="$TREE/vendor/github.com/modern-go/reflect2"
  [ -d "$R2SRC" ] || fail "reflect2 source not found at $R2SRC"
  rm -f "$R2DST"/*.go "$R2DST"/*.s
  cp "$R2SRC"/*.go "$R2DST"/ || fail "copying reflect2"
  cp "$R2SRC"/*.s "$R2DST"/ 2>/dev/null || true
  rm -f "$R2DST"/*_test.go
  touch "$TREE/.berth-prepared-reflect2"
fi

export GOPATH="$GOPATH_DIR" GO111MODULE=off CGO_ENABLED=0 GOFLAGS= GOCACHE="$DIR/gocache" GOTOOLCHAIN=local
export PATH="/usr/lib/go-1.19/bin:$PATH"

# 4. pkg/generated/openapi/zz_generated.openapi.go, as the upstream Makefile makes it.
OPENAPI="$TREE/pkg/generated/openapi/zz_generated.openapi.go"
if [ ! -f "$TREE/.berth-prepared" ] || [ ! -s "$OPENAPI" ]; then
  step "building openapi-gen"
  (cd "$TREE" && "$GO" build -o "$DIR/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen) >>"$LOG" 2>&1 ||
    fail "building openapi-gen"
  step "generating $OPENAPI"
  pkgs=$(cd "$TREE" && grep -Rl --include='*.go' -e '+k8s:openapi-gen=' pkg cmd plugin vendor/k8s.io 2>/dev/null |
           grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' |
           xargs -n1 dirname | LC_ALL=C sort -u | sed 's#^#k8s.io/kubernetes/#' | paste -sd, -) || true
  [ -n "$pkgs" ] || fail "finding the +k8s:openapi-gen packages"
  echo "openapi-gen packages: $(echo "$pkgs" | tr ',' '\n' | wc -l)" >>"$LOG"
  (cd "$TREE" && "$DIR/openapi-gen" --logtostderr -i "$pkgs" -p k8s.io/kubernetes/pkg/generated/openapi \
     -O zz_generated.openapi -h hack/boilerplate/boilerplate.generatego.txt -r "$DIR/openapi-violations.txt") >>"$LOG" 2>&1 ||
    fail "running openapi-gen"
  [ -s "$OPENAPI" ] || fail "openapi-gen wrote no $OPENAPI"
  touch "$TREE/.berth-prepared"
fi

# 5. The binaries, stamped with the version they are.
LDFLAGS=""
for p in k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/component-base/version; do
  LDFLAGS+=" -X $p.gitVersion=$VERSION -X $p.gitMajor=1 -X $p.gitMinor=20 -X $p.gitTreeState=clean"
done
mkdir -p "$BIN"
for t in "${TARGETS[@]}"; do
  [ -x "$BIN/$t" ] && continue
  if [ "$t" = pause ]; then
    # A pod sandbox's process: waits for SIGTERM or SIGINT, reaps nothing (no shared PID namespace).
    step "go build pause"
    mkdir -p "$DIR/pause"
    cat >"$DIR/pause/main.go" <<'GO'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
GO
    (cd "$DIR/pause" && "$GO" build -ldflags "-s -w" -o "$BIN/pause.partial" main.go) >>"$LOG" 2>&1 || fail "go build pause"
    mv "$BIN/pause.partial" "$BIN/pause"
    continue
  fi
  step "go build ./cmd/$t"
  (cd "$TREE" && "$GO" build -ldflags "-s -w $LDFLAGS" -o "$BIN/$t.partial" "./cmd/$t") >>"$LOG" 2>&1 || fail "go build ./cmd/$t"
  mv "$BIN/$t.partial" "$BIN/$t"
done
step "done: $(ls "$BIN" | tr '\n' ' ')"
