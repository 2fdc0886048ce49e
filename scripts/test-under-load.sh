#!/usr/bin/env bash
# The README's test command with the machine's every core kept busy beside it: no test may depend
# on the machine's speed. One busy loop per core (HOGS=N for another number), stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
hogs=${HOGS:-$(nproc)}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq "$hogs"); do
  node -e 'for (;;) {}' &
  pids+=($!)
done
echo "test-under-load: $hogs busy loops beside the tests" >&2
bash scripts/test-tools.sh && npm ci --no-audit --no-fund && npm test
