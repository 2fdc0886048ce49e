#!/usr/bin/env bash
# What the tests need besides Node: bash, zsh and fish (the completion scripts are checked with
# each) and man (the man page is rendered), plus python3 (pseudo-terminal tests), sshd (the
# ssh plug-in is tested against a real one on 127.0.0.1) and PostgreSQL (the shared store's tests
# initdb a private server; under root they run it as the package's `postgres` user). Installed
# from Debian's packages when missing.
set -euo pipefail
missing=()
for tool in zsh fish man python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
# sshd lives in /usr/sbin, which is not on every user's PATH.
[ -x /usr/sbin/sshd ] || command -v sshd >/dev/null || missing+=(sshd)
# initdb and pg_ctl live in /usr/lib/postgresql/VERSION/bin.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
packages=()
for tool in "${missing[@]}"; do
  case $tool in man) packages+=(man-db) ;; sshd) packages+=(openssh-server) ;; *) packages+=("$tool") ;; esac
done
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
