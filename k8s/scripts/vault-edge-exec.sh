#!/bin/sh
# vault-edge-exec: fetch a secret from vault-edge as environment variables, then run the app
# with them:   vault-edge-exec.sh node server.js
#
# Without VAULT_EDGE_REFRESH_SECONDS the script replaces itself with the app (exec): no
# process stays behind. With it, the script stays as the app's parent, asks the broker again
# every N seconds with If-None-Match (304: nothing changed, nothing to do) and, when the ETag
# changes, stops the app (SIGTERM, SIGKILL after VAULT_EDGE_STOP_GRACE_SECONDS) and starts it
# again with the new values. A failed re-fetch keeps the running app. When the app exits on
# its own the script exits with its status, so the kubelet's restart policy applies.
# SIGTERM/SIGINT/SIGHUP to the script stop the app the same way.
#
# POSIX sh (dash, busybox ash, bash, zsh in sh mode); needs curl >= 7.76. The secret values
# live only in the app's environment and in a 0600 file in a private directory (removed on
# exit); the script itself never has them in its environment and never prints them, nor the
# token (it reaches curl on stdin, not in argv).
#
#   VAULT_EDGE_URL                 base URL of the broker (required)
#   VAULT_EDGE_SECRET_PATH         Vault logical path, e.g. secret/data/myapp/config (required)
#   VAULT_EDGE_TOKEN_FILE          default /var/run/secrets/vault-edge/token
#   VAULT_EDGE_QUERY               extra query parameters, e.g. prefix=APP_
#   VAULT_EDGE_CACERT              CA bundle to verify the broker with
#   VAULT_EDGE_REFRESH_SECONDS     re-fetch interval; unset or 0: fetch once and exec
#   VAULT_EDGE_STOP_GRACE_SECONDS  default 10
#   VAULT_EDGE_WORK_DIR            where the env file lives while the app runs (default $TMPDIR or /tmp;
#                                  mount an emptyDir with medium: Memory there)
set -eu

TOKEN_FILE=${VAULT_EDGE_TOKEN_FILE:-/var/run/secrets/vault-edge/token}
REFRESH=${VAULT_EDGE_REFRESH_SECONDS:-0}
GRACE=${VAULT_EDGE_STOP_GRACE_SECONDS:-10}
QUERY=${VAULT_EDGE_QUERY:-}

log() { printf 'vault-edge-exec: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$#" -gt 0 ] || die 'usage: vault-edge-exec.sh command [argument...]'
[ -n "${VAULT_EDGE_URL:-}" ] || die 'VAULT_EDGE_URL is not set'
[ -n "${VAULT_EDGE_SECRET_PATH:-}" ] || die 'VAULT_EDGE_SECRET_PATH is not set'
case $REFRESH in '' | *[!0-9]*) die 'VAULT_EDGE_REFRESH_SECONDS must be a whole number of seconds' ;; esac
case $GRACE in '' | *[!0-9]*) die 'VAULT_EDGE_STOP_GRACE_SECONDS must be a whole number of seconds' ;; esac

URL="${VAULT_EDGE_URL%/}/v1/secrets/${VAULT_EDGE_SECRET_PATH#/}?format=env${QUERY:+&$QUERY}"

umask 077
WORK=$(mktemp -d "${VAULT_EDGE_WORK_DIR:-${TMPDIR:-/tmp}}/vault-edge.XXXXXX")
ENV_FILE="$WORK/env"
etag=

cleanup() { rm -rf -- "$WORK"; }
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# fetch: GET the secret into $WORK/new. Prints the HTTP status (200 or 304); returns
# non-zero, with the problem+json body on stderr, on any failure.
fetch() {
  token=$(cat -- "$TOKEN_FILE") || return 1
  [ -n "$token" ] || { log "the token file $TOKEN_FILE is empty"; return 1; }
  set -- --connect-timeout 5 --max-time 30 --retry 4 --retry-connrefused --retry-max-time 60
  if [ -n "${VAULT_EDGE_CACERT:-}" ]; then set -- "$@" --cacert "$VAULT_EDGE_CACERT"; fi
  rm -f -- "$WORK/new" "$WORK/headers"
  # Headers on stdin (-H @-): the token never appears in argv.
  code=$({
    printf 'Authorization: Bearer %s\n' "$token"
    if [ -n "$etag" ]; then printf 'If-None-Match: %s\n' "$etag"; fi
  } | curl --fail-with-body --silent --show-error -H @- -D "$WORK/headers" -o "$WORK/new" -w '%{http_code}' "$@" "$URL") || {
    log "fetching ${VAULT_EDGE_SECRET_PATH} failed (HTTP ${code:-none})"
    if [ -s "$WORK/new" ] && head -c 1 -- "$WORK/new" | grep -q '{'; then
      head -c 2000 -- "$WORK/new" >&2
      printf '\n' >&2
    fi
    rm -f -- "$WORK/new"
    token=
    return 1
  }
  token=
  printf '%s' "$code"
}

# The ETag of the last response (RFC 9110 §8.8.3), as sent back in If-None-Match. With
# retries curl may have dumped several header blocks: the last one wins.
response_etag() {
  sed -n 's/^[Ee][Tt][Aa][Gg]:[[:space:]]*//p' "$WORK/headers" | tr -d '\r' | tail -n 1
}

status=$(fetch) || die "no secrets, not starting $1"
[ "$status" = 200 ] || die "unexpected HTTP $status from the broker"
etag=$(response_etag)
mv -f -- "$WORK/new" "$ENV_FILE"

if [ "$REFRESH" -eq 0 ]; then
  # Source into this shell and become the app. The file is no longer needed.
  # shellcheck source=/dev/null
  . "$ENV_FILE"
  rm -rf -- "$WORK"
  trap - EXIT
  exec "$@"
fi

child=
timer=
stop_requested=

# after SECONDS SIGNAL PID: sends SIGNAL to PID in SECONDS unless `cancel $after_pid` comes
# first. The sleep is killed with its subshell, so nothing outlives the script.
after() {
  (
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$1" &
    sleeper=$!
    wait "$sleeper" && kill -s "$2" "$3"
  ) </dev/null >/dev/null 2>&1 &
  after_pid=$!
}

cancel() {
  if [ -n "$1" ]; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

start_child() {
  # A subshell sources the secrets and execs the app: the values never enter this shell.
  # shellcheck source=/dev/null
  ( . "$ENV_FILE" && exec "$@" ) &
  child=$!
  log "started $1 (pid $child)"
}

# wait_child: waits until the app has exited (a trapped signal interrupts `wait`; POSIX says
# it then returns > 128 and runs the trap, which sets `interrupted`) and sets child_status.
wait_child() {
  while :; do
    interrupted=
    child_status=0
    wait "$child" || child_status=$?
    [ -n "$interrupted" ] || return 0
  done
}

# SIGTERM, then SIGKILL after the grace period. Non-interactive shells start background
# jobs with SIGINT ignored, so TERM is what the app gets whatever this script received.
stop_child() {
  kill -s TERM "$child" 2>/dev/null || true
  after "$GRACE" KILL "$child"
  wait_child
  cancel "$after_pid"
}

trap 'stop_requested=1 interrupted=1' TERM INT HUP
trap 'interrupted=1' ALRM

start_child "$@"
while :; do
  if [ -z "$stop_requested" ]; then
    after "$REFRESH" ALRM $$
    timer=$after_pid
    interrupted=
    child_status=0
    wait "$child" || child_status=$?
    if [ -z "$interrupted" ]; then
      cancel "$timer"
      log "$1 exited with status $child_status"
      exit "$child_status"
    fi
  fi
  # A signal that arrived while curl ran is only seen here: check before waiting again.
  if [ -n "$stop_requested" ]; then
    cancel "$timer"
    log "stopping $1 (pid $child)"
    stop_child
    exit "$child_status"
  fi

  wait "$timer" 2>/dev/null || true
  if ! status=$(fetch); then
    log 'refresh failed; the app keeps the values it has'
    continue
  fi
  if [ "$status" = 304 ]; then continue; fi
  new_etag=$(response_etag)
  if [ "$status" != 200 ] || [ -z "$new_etag" ] || [ "$new_etag" = "$etag" ]; then
    rm -f -- "$WORK/new"
    etag=${new_etag:-$etag}
    continue
  fi
  etag=$new_etag
  mv -f -- "$WORK/new" "$ENV_FILE"
  log "the secret changed (new ETag): restarting $1"
  stop_child
  if [ -n "$stop_requested" ]; then exit "$child_status"; fi
  start_child "$@"
done
