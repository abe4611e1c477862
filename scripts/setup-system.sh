#!/usr/bin/env bash
# Debian packages the tests and the demo need, installed once (idempotent): the Kubernetes build's
# toolchain (see scripts/build-kube.sh, which also installs them) and Chromium for the browser
# test, with an emoji font so the page's emoji show as Slack shows them. Runs before `npm test` and `npm run demo`.
set -euo pipefail
need=()
for p in chromium fonts-noto-color-emoji golang-go etcd-server rsync jq openssl unzip; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup-system: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "setup-system: installing ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
