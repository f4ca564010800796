#!/usr/bin/env bash
# Install what Skiff's node agent needs to run pods on this machine: containerd, runc, the CNI
# plugins (bridge, host-local, portmap, loopback), a static busybox (for the test image),
# iptables and nftables. Idempotent: it installs only what is missing, and does nothing (fast,
# and without apt) when everything is present. Debian/Ubuntu only; needs root to install.
set -euo pipefail

# need NAME CHECK: package NAME is needed unless CHECK (a shell test) succeeds.
missing=()
need() {
  local pkg=$1; shift
  if ! eval "$*" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
}

need containerd 'command -v containerd && command -v ctr && command -v containerd-shim-runc-v2'
need runc 'command -v runc'
need containernetworking-plugins \
  'test -x /usr/lib/cni/bridge && test -x /usr/lib/cni/host-local && test -x /usr/lib/cni/portmap && test -x /usr/lib/cni/loopback'
# busybox-static's /bin/busybox is statically linked; the plain busybox package's is not.
need busybox-static 'dpkg-query -W -f="\${Status}" busybox-static | grep -q "install ok installed"'
need iptables 'command -v iptables'
need nftables 'command -v nft'
need iproute2 'command -v ip'

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-runtime: containerd, runc, CNI plugins, busybox-static, iptables, nftables already present"
  exit 0
fi

echo "install-runtime: installing ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-runtime: apt-get not available; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-runtime: must run as root to install ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_get() {
  apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

# Do not let the package start a system-wide containerd: Skiff runs its own under its data dir.
policy=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

# Try without refreshing the package lists first (fast when they are current); refresh and retry.
if ! apt_get install --no-install-recommends "${missing[@]}"; then
  echo "install-runtime: apt-get install failed; running apt-get update and retrying"
  apt_get update
  apt_get install --no-install-recommends "${missing[@]}"
fi

# A package's postinst may start containerd through systemd where systemd runs; Skiff does not
# use the system instance, so stop it and keep it from starting at boot.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now containerd >/dev/null 2>&1 || true
fi

for bin in containerd runc /usr/lib/cni/bridge nft iptables; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "install-runtime: $bin still missing after install" >&2
    exit 1
  fi
done
echo "install-runtime: installed ${missing[*]} ($(containerd --version 2>/dev/null | awk '{print $3}'), runc $(runc --version 2>/dev/null | awk 'NR==1{print $3}'))"
