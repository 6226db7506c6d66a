#!/usr/bin/env bash
# `npm run demo`, `npm run stack` and `npm test` on a fresh clone: installs the pinned npm
# packages (package-lock.json) first when node_modules lacks them, so no `npm ci` step is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x node_modules/.bin/node || ! -x node_modules/.bin/vitest || ! -x node_modules/.bin/wrangler ]]; then
  echo "node_modules is missing or incomplete: running npm ci (the versions pinned in package-lock.json)"
  npm ci --no-audit --no-fund
fi
