#!/usr/bin/env bash
# What the tests need besides Node: bash, zsh and fish (the completion scripts are checked with
# each) and man (the man page is rendered), plus python3 (pseudo-terminal tests). Installed
# from Debian's packages when missing.
set -euo pipefail
missing=()
for tool in zsh fish man python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=()
for tool in "${missing[@]}"; do
  case $tool in man) packages+=(man-db) ;; *) packages+=("$tool") ;; esac
done
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
