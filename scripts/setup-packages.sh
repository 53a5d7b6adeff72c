#!/usr/bin/env bash
# Installs the Debian packages the integration tests and benchmarks use (real servers and reference tools).
# Run as root. Idempotent: installs only what is missing.
set -euo pipefail
PKGS=(openssh-server openssh-client etcd-server etcd-client prometheus-alertmanager haproxy pssh ansible-core hyperfine python3-openstackclient bats)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-packages: all Debian packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-packages: missing ${missing[*]}; run as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "setup-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
