#!/usr/bin/env bash
# Builds the testbed's Kubernetes, etcd and KWOK binaries from Go modules into a
# cache folder keyed by version. Builds only what is missing; prints how long each took.
# Usage: build-binaries.sh <bin-dir> [name...]   (names default to every binary; versions from versions.env)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

bin_dir=${1:?usage: build-binaries.sh <bin-dir> [name...]}
shift
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl)
# needed NAME: true when NAME was asked for and is not in bin_dir yet.
needed() { [[ " ${wanted[*]} " == *" $1 "* ]] && [ ! -x "$bin_dir/$1" ]; }
mkdir -p "$bin_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v go >/dev/null || { echo "testbed: Go is required to build the testbed binaries (https://go.dev/dl, or apt-get install golang)" >&2; exit 1; }
export GOFLAGS=-mod=mod
export CGO_ENABLED=0

timed() { # name, command...
  local name=$1; shift
  local start=$SECONDS
  echo "testbed: building $name ..." >&2
  "$@"
  echo "testbed: built $name in $((SECONDS - start))s" >&2
}

k8s_missing=()
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  if needed "$b"; then k8s_missing+=("$b"); fi
done

if [ ${#k8s_missing[@]} -gt 0 ]; then
  # k8s.io/kubernetes replaces its staging modules with ./staging/...; a wrapper
  # module points each of them at the published k8s.io/<name> v0.<minor>.<patch>.
  mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  staging_version="v0.${K8S_VERSION#v1.}"
  mkdir -p "$work/k8s"
  {
    echo "module wren.dev/testbed/k8s"
    echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging/' "$mod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } >"$work/k8s/go.mod"
  cat >"$work/k8s/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$work/k8s" && timed "k8s module graph ($K8S_VERSION)" go mod tidy -e >/dev/null 2>&1 || true)
  for b in "${k8s_missing[@]}"; do
    (cd "$work/k8s" && timed "$b $K8S_VERSION" go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$b.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$bin_dir/$b.tmp" "$bin_dir/$b"
  done
fi

if needed etcd; then
  # etcd's server module has relative replaces too; a wrapper main builds it.
  mkdir -p "$work/etcd"
  cat >"$work/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$work/etcd" && go mod init wren.dev/testbed/etcd >/dev/null 2>&1 && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 && go mod tidy >/dev/null 2>&1)
  (cd "$work/etcd" && timed "etcd $ETCD_VERSION" go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd.tmp" .)
  mv "$bin_dir/etcd.tmp" "$bin_dir/etcd"
fi

for b in kwok kwokctl; do
  if needed "$b"; then
    timed "$b $KWOK_VERSION" env GOBIN="$work/gobin" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$K8S_VERSION" "sigs.k8s.io/kwok/cmd/$b@$KWOK_VERSION"
    mv "$work/gobin/$b" "$bin_dir/$b"
  fi
done
echo "testbed: binaries ready in $bin_dir" >&2
