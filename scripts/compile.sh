#!/usr/bin/env bash
# `npm test`'s first step: the build (dist, which the child-process tests run) and the type check
# of src, test and bench, side by side; it fails if either does.
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json & build=$!
npx tsc -p tsconfig.check.json & check=$!
wait "$build"; built=$?
wait "$check"; checked=$?
exit $((built || checked))
