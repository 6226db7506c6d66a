#!/bin/sh
# vault-edge-exec: fetch secrets from vault-edge, then run the app with them, and keep them
# current while it runs — what a Vault Agent sidecar with `exec` / template `command` did,
# without a sidecar:
#
#   vault-edge-exec.sh node server.js
#
# The secrets: VAULT_EDGE_SECRET_PATH as environment variables of the app, and/or files listed
# in VAULT_EDGE_OUTPUTS (one `SOURCE DESTINATION [OPTION...]` per line, each with its format,
# mode and owner; see fetch-secrets.sh, which this script runs for every fetch, all or nothing).
#
# Without VAULT_EDGE_REFRESH_SECONDS the script replaces itself with the app (exec): no
# process stays behind. With it, the script stays as the app's parent and asks the broker again
# when the broker says a change can show (its X-Refresh-After header: the cached entry's TTL),
# with a little random jitter so pods do not ask in step, and at least every
# VAULT_EDGE_REFRESH_SECONDS. Each ask carries If-None-Match: an unchanged secret is a 304 from
# the broker's cache, no Vault call, nothing rewritten. When something changed, the new files
# are renamed into place atomically and then, as VAULT_EDGE_ON_CHANGE says:
#   restart  (default) stop the app (SIGTERM, SIGKILL after VAULT_EDGE_STOP_GRACE_SECONDS) and start it again
#   signal   send it VAULT_EDGE_RELOAD_SIGNAL (default HUP), for apps that re-read their files
#   command  run VAULT_EDGE_ON_CHANGE_COMMAND with sh -c (VAULT_EDGE_APP_PID holds the app's pid)
#   none     only rewrite the files (the app watches them itself)
# A change of the environment variables always restarts the app: a running process cannot get
# new ones. A failed refresh keeps the app and its files as they are. Every poll counts as a use
# of a leased secret (database credentials): the broker keeps renewing its lease while the pod
# polls. When the app exits on its own the script exits with its status, so the kubelet's
# restart policy applies. SIGTERM/SIGINT/SIGHUP to the script stop the app the same way.
#
# POSIX sh (dash, busybox ash, bash, zsh in sh mode); needs curl >= 7.84. The values of the
# environment live only in the app's environment and in a 0600 file in a private directory
# (removed on exit); the script itself never has them in its environment and never prints
# them, nor the token (it reaches curl on stdin, not in argv).
#
#   VAULT_EDGE_URL                 base URL of the broker (required; https://, see fetch-secrets.sh)
#   VAULT_EDGE_SECRET_PATH         Vault logical path whose keys become environment variables
#   VAULT_EDGE_QUERY               its query parameters, e.g. prefix=APP_ (key, prefix, version, role)
#   VAULT_EDGE_OUTPUTS             files to write, or VAULT_EDGE_OUTPUTS_FILE (at least one of these
#                                  or VAULT_EDGE_SECRET_PATH)
#   VAULT_EDGE_TOKEN_FILE          default /var/run/secrets/vault-edge/token
#   VAULT_EDGE_CACERT              CA bundle to verify the broker with
#   VAULT_EDGE_REFRESH_SECONDS     longest time between two asks; unset or 0: fetch once and exec
#   VAULT_EDGE_ON_CHANGE           restart | signal | command | none (default restart)
#   VAULT_EDGE_RELOAD_SIGNAL       default HUP
#   VAULT_EDGE_ON_CHANGE_COMMAND   for VAULT_EDGE_ON_CHANGE=command
#   VAULT_EDGE_STOP_GRACE_SECONDS  default 10
#   VAULT_EDGE_WORK_DIR            where the env file and the ETags live while the app runs (default
#                                  $TMPDIR or /tmp; mount an emptyDir with medium: Memory there)
#   VAULT_EDGE_FETCH_SCRIPT        default: fetch-secrets.sh next to this script
set -eu

REFRESH=${VAULT_EDGE_REFRESH_SECONDS:-0}
GRACE=${VAULT_EDGE_STOP_GRACE_SECONDS:-10}
ON_CHANGE=${VAULT_EDGE_ON_CHANGE:-restart}
RELOAD_SIGNAL=${VAULT_EDGE_RELOAD_SIGNAL:-HUP}
FETCH=${VAULT_EDGE_FETCH_SCRIPT:-$(dirname -- "$0")/fetch-secrets.sh}

log() { printf 'vault-edge-exec: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$#" -gt 0 ] || die 'usage: vault-edge-exec.sh command [argument...]'
[ -n "${VAULT_EDGE_URL:-}" ] || die 'VAULT_EDGE_URL is not set'
[ -n "${VAULT_EDGE_SECRET_PATH:-}${VAULT_EDGE_OUTPUTS:-}${VAULT_EDGE_OUTPUTS_FILE:-}" ] || die 'VAULT_EDGE_SECRET_PATH is not set (nor VAULT_EDGE_OUTPUTS)'
case $REFRESH in '' | *[!0-9]*) die 'VAULT_EDGE_REFRESH_SECONDS must be a whole number of seconds' ;; esac
case $GRACE in '' | *[!0-9]*) die 'VAULT_EDGE_STOP_GRACE_SECONDS must be a whole number of seconds' ;; esac
case $ON_CHANGE in
  restart | signal | none) ;;
  command) [ -n "${VAULT_EDGE_ON_CHANGE_COMMAND:-}" ] || die 'VAULT_EDGE_ON_CHANGE=command needs VAULT_EDGE_ON_CHANGE_COMMAND' ;;
  *) die 'VAULT_EDGE_ON_CHANGE must be restart, signal, command or none' ;;
esac
case $RELOAD_SIGNAL in '' | *[!A-Z0-9]*) die 'VAULT_EDGE_RELOAD_SIGNAL must be a signal name like HUP or USR1' ;; esac
[ -r "$FETCH" ] || die "cannot read $FETCH (VAULT_EDGE_FETCH_SCRIPT)"

umask 077
WORK=$(mktemp -d "${VAULT_EDGE_WORK_DIR:-${TMPDIR:-/tmp}}/vault-edge.XXXXXX")
ENV_FILE=

cleanup() { rm -rf -- "$WORK"; }
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Everything to fetch, as fetch-secrets.sh lines: the environment first, then the files.
outputs=
if [ -n "${VAULT_EDGE_SECRET_PATH:-}" ]; then
  ENV_FILE="$WORK/env"
  outputs="${VAULT_EDGE_SECRET_PATH#/} $ENV_FILE format=env $(printf '%s' "${VAULT_EDGE_QUERY:-}" | tr '&' ' ')"
fi
if [ -n "${VAULT_EDGE_OUTPUTS_FILE:-}" ]; then
  [ -r "$VAULT_EDGE_OUTPUTS_FILE" ] || die "cannot read $VAULT_EDGE_OUTPUTS_FILE"
  outputs="$outputs
$(cat -- "$VAULT_EDGE_OUTPUTS_FILE")"
fi
outputs="$outputs
${VAULT_EDGE_OUTPUTS:-}"

# fetch: one run of fetch-secrets.sh over every output, with the ETags kept in $WORK; it
# leaves $WORK/changed (the files rewritten) and $WORK/refresh-after.
fetch() {
  (
    unset VAULT_EDGE_SECRET_PATH VAULT_EDGE_BUNDLE_FILE VAULT_EDGE_TEMPLATE_FILE VAULT_EDGE_OUTPUTS_FILE VAULT_EDGE_QUERY
    VAULT_EDGE_OUTPUTS=$outputs VAULT_EDGE_STATE_DIR=$WORK exec sh "$FETCH"
  ) </dev/null
}

fetch || die "no secrets, not starting $1"

if [ "$REFRESH" -eq 0 ]; then
  # Become the app, with the environment sourced into this shell. The work files are no longer needed.
  if [ -n "$ENV_FILE" ]; then
    # shellcheck source=/dev/null
    . "$ENV_FILE"
  fi
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
  if [ -n "$ENV_FILE" ]; then
    # shellcheck source=/dev/null
    ( . "$ENV_FILE" && exec "$@" ) &
  else
    "$@" &
  fi
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

# The next ask: when the broker's cached entry may have changed (X-Refresh-After), never later
# than VAULT_EDGE_REFRESH_SECONDS, plus up to a tenth more (at least a second) at random.
next_interval() {
  interval=$REFRESH
  hint=$(cat -- "$WORK/refresh-after" 2>/dev/null || true)
  case $hint in '' | *[!0-9]*) ;; *) if [ "$hint" -lt "$interval" ]; then interval=$hint; fi ;; esac
  spread=$((interval / 10))
  if [ "$spread" -lt 1 ]; then spread=1; fi
  random=$(od -An -N2 -tu2 /dev/urandom | tr -d ' \n')
  printf '%s' $((interval + ${random:-0} % (spread + 1)))
}

trap 'stop_requested=1 interrupted=1' TERM INT HUP
trap 'interrupted=1' ALRM

start_child "$@"
while :; do
  if [ -z "$stop_requested" ]; then
    after "$(next_interval)" ALRM $$
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
  if ! fetch; then
    log 'refresh failed; the app keeps the values it has'
    continue
  fi
  [ -s "$WORK/changed" ] || continue
  action=$ON_CHANGE
  if [ -n "$ENV_FILE" ] && grep -qxF -- "$ENV_FILE" "$WORK/changed"; then
    action=restart # environment variables reach a process only when it starts
  fi
  case $action in
    restart)
      log "the secrets changed: restarting $1"
      stop_child
      if [ -n "$stop_requested" ]; then exit "$child_status"; fi
      start_child "$@"
      ;;
    signal)
      log "the secrets changed: sending SIG$RELOAD_SIGNAL to $1 (pid $child)"
      kill -s "$RELOAD_SIGNAL" "$child" 2>/dev/null || log "could not signal pid $child"
      ;;
    command)
      log 'the secrets changed: running VAULT_EDGE_ON_CHANGE_COMMAND'
      if ! VAULT_EDGE_APP_PID=$child sh -c "$VAULT_EDGE_ON_CHANGE_COMMAND" </dev/null; then
        log 'VAULT_EDGE_ON_CHANGE_COMMAND failed'
      fi
      ;;
    none) log 'the secrets changed: files rewritten' ;;
  esac
done
