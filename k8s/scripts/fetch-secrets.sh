#!/bin/sh
# vault-edge fetch: the init-container step. Presents the pod's projected ServiceAccount
# token to vault-edge and writes one or more rendered secrets to files, each with its own
# format, mode and owner, all or nothing: every file is fetched into a temporary file next to
# its destination first; only when all succeeded are they renamed into place (rename(2) is
# atomic, so the app never sees half a file), and on any failure none is written.
#
# POSIX sh: runs under dash, busybox ash, bash and zsh (sh mode). Needs curl >= 7.84. Never
# prints the token or a secret value: the token is read once and reaches curl on stdin
# (-H @-; not in argv, where `ps` would show it), files are created under umask 077, and only
# problem+json bodies (RFC 9457: a code and a request id, never a value) go to stderr.
#
# What to fetch, either several outputs:
#   VAULT_EDGE_OUTPUTS        one output per line (or VAULT_EDGE_OUTPUTS_FILE: a file of them):
#                               SOURCE DESTINATION [OPTION...]
#                             SOURCE: a Vault path (GET /v1/secrets/{path}), template:FILE (a Vault
#                             Agent template, POST /v1/render) or bundle:FILE (a JSON body for
#                             POST /v1/bundle). DESTINATION: an absolute path. OPTIONs:
#                               format=env|dotenv|json|yaml|raw  (default env; not for templates)
#                               mode=0400|0440|0600|0644|…       (default 0600)
#                               owner=UID:GID                    (numeric; chown needs root)
#                               key=… prefix=… version=… role=… metadata=true  (query parameters)
#                             Blank lines and lines starting with # are skipped; no field may hold
#                             a space. Example (the Agent Injector's two files, a CSI object):
#                               template:/opt/templates/db.ctmpl      /vault/secrets/db       mode=0400
#                               template:/opt/templates/api-key.ctmpl /vault/secrets/api-key  mode=0440 owner=0:1000
#                               secret/data/myapp/config  /mnt/secrets-store/db-password  format=raw key=password mode=0444
# or one (the original form):
#   VAULT_EDGE_SECRET_PATH    a Vault logical path, e.g. secret/data/myapp/config
#   VAULT_EDGE_BUNDLE_FILE    a JSON request body for POST /v1/bundle (several paths, key mappings)
#   VAULT_EDGE_TEMPLATE_FILE  a Vault Agent template for POST /v1/render
#   VAULT_EDGE_OUTPUT         default /vault/secrets/env
#   VAULT_EDGE_FORMAT         env (default) | dotenv | json | yaml | raw
#   VAULT_EDGE_QUERY          extra query parameters, e.g. prefix=DB_ or key=password
# Settings:
#   VAULT_EDGE_URL            base URL of the broker (required), https://… (http:// only with
#                             VAULT_EDGE_ALLOW_HTTP=1: the token and the secrets would cross the
#                             network in clear)
#   VAULT_EDGE_CACERT         CA bundle to verify the broker with (default: the system CAs)
#   VAULT_EDGE_TOKEN_FILE     default /var/run/secrets/vault-edge/token (the projected volume)
#   VAULT_EDGE_RETRIES        curl --retry (default 6: transient errors, 408, 429, 5xx, refused connections)
#   VAULT_EDGE_MAX_TIME       seconds per attempt (default 30)
#   VAULT_EDGE_STATE_DIR      for repeated runs (vault-edge-exec.sh): keeps each output's ETag there,
#                             asks with If-None-Match, leaves unchanged files alone, and writes
#                             `changed` (the destinations rewritten, one per line) and
#                             `refresh-after` (the smallest X-Refresh-After the broker sent)
set -eu
set -f # fields of VAULT_EDGE_OUTPUTS are split on blanks, never globbed

TOKEN_FILE=${VAULT_EDGE_TOKEN_FILE:-/var/run/secrets/vault-edge/token}
STATE=${VAULT_EDGE_STATE_DIR:-}

log() { printf 'vault-edge-fetch: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -n "${VAULT_EDGE_URL:-}" ] || die 'VAULT_EDGE_URL is not set'
case $VAULT_EDGE_URL in
  https://*) ;;
  http://*) [ "${VAULT_EDGE_ALLOW_HTTP:-}" = 1 ] || die 'VAULT_EDGE_URL is http://: the token and the secrets would cross the network in clear (use https://, or set VAULT_EDGE_ALLOW_HTTP=1 for a broker on this host)' ;;
  *) die 'VAULT_EDGE_URL must start with https://' ;;
esac
if [ -n "${VAULT_EDGE_CACERT:-}" ] && [ ! -r "$VAULT_EDGE_CACERT" ]; then die "cannot read the CA file $VAULT_EDGE_CACERT (VAULT_EDGE_CACERT)"; fi
[ -r "$TOKEN_FILE" ] || die "no readable ServiceAccount token at $TOKEN_FILE (is the projected volume mounted?)"
if [ -n "$STATE" ] && [ ! -d "$STATE" ]; then die "VAULT_EDGE_STATE_DIR $STATE is not a directory"; fi
base=${VAULT_EDGE_URL%/}

# The outputs, as lines of "SOURCE DESTINATION OPTION…".
chosen=0
for name in VAULT_EDGE_OUTPUTS VAULT_EDGE_OUTPUTS_FILE VAULT_EDGE_SECRET_PATH VAULT_EDGE_BUNDLE_FILE VAULT_EDGE_TEMPLATE_FILE; do
  eval "[ -z \"\${$name:-}\" ]" || chosen=$((chosen + 1))
done
[ "$chosen" -eq 1 ] || die 'set exactly one of VAULT_EDGE_OUTPUTS, VAULT_EDGE_OUTPUTS_FILE, VAULT_EDGE_SECRET_PATH, VAULT_EDGE_BUNDLE_FILE, VAULT_EDGE_TEMPLATE_FILE'
origin=VAULT_EDGE_OUTPUTS
if [ -n "${VAULT_EDGE_OUTPUTS:-}" ]; then
  outputs=$VAULT_EDGE_OUTPUTS
elif [ -n "${VAULT_EDGE_OUTPUTS_FILE:-}" ]; then
  origin="VAULT_EDGE_OUTPUTS_FILE ($VAULT_EDGE_OUTPUTS_FILE)"
  [ -r "$VAULT_EDGE_OUTPUTS_FILE" ] || die "cannot read $VAULT_EDGE_OUTPUTS_FILE"
  outputs=$(cat -- "$VAULT_EDGE_OUTPUTS_FILE")
else
  origin='the VAULT_EDGE_* settings'
  # The original single-output form: the same line, with its query passed through as is.
  if [ -n "${VAULT_EDGE_SECRET_PATH:-}" ]; then source=${VAULT_EDGE_SECRET_PATH#/}
  elif [ -n "${VAULT_EDGE_BUNDLE_FILE:-}" ]; then source=bundle:$VAULT_EDGE_BUNDLE_FILE
  else source=template:$VAULT_EDGE_TEMPLATE_FILE
  fi
  format=
  case $source in template:*) ;; *) format=format=${VAULT_EDGE_FORMAT:-env} ;; esac
  outputs="$source ${VAULT_EDGE_OUTPUT:-/vault/secrets/env} $format"
  single_query=${VAULT_EDGE_QUERY:-}
fi

# parse LINE: sets source, dest, format, mode, owner, query; fails with the reason.
parse() {
  # shellcheck disable=SC2086 # word splitting is the field separator here (set -f is on)
  set -- $1
  [ "$#" -ge 2 ] || { log "an output needs a source and a destination: $*"; return 1; }
  source=$1 dest=$2 format= mode=0600 owner= query=${single_query:-}
  shift 2
  for option in "$@"; do
    value=${option#*=}
    case $option in
      format=*) format=$value ;;
      mode=*) mode=$value ;;
      owner=*) owner=$value ;;
      key=* | prefix=* | version=* | role=* | metadata=*) query=${query:+$query&}$option ;;
      *) log "unknown option $option (format, mode, owner, key, prefix, version, role, metadata)"; return 1 ;;
    esac
  done
  case $dest in /*) ;; *) log "the destination $dest is not an absolute path"; return 1 ;; esac
  case $mode in [0-7][0-7][0-7] | 0[0-7][0-7][0-7]) ;; *) log "mode=$mode is not an octal file mode like 0440"; return 1 ;; esac
  case $owner in '') ;; *[!0-9:]* | *:*:* | :* | *:) log "owner=$owner is not numeric UID:GID"; return 1 ;; *:*) ;; *) log "owner=$owner is not numeric UID:GID"; return 1 ;; esac
  case $source in
    template:*)
      [ -z "$format" ] || { log "$source: a template renders its own text, format= does not apply"; return 1; }
      [ -r "${source#template:}" ] || { log "cannot read ${source#template:}"; return 1; } ;;
    bundle:*) [ -r "${source#bundle:}" ] || { log "cannot read ${source#bundle:}"; return 1; } ;;
    *) source=${source#/} ;;
  esac
  case $source in template:*) ;; *)
    format=${format:-env}
    case $format in env | dotenv | json | yaml | raw) ;; *) log "format=$format: must be env, dotenv, json, yaml or raw"; return 1 ;; esac ;;
  esac
}

# Check every line before fetching anything: a typo in the last one writes nothing.
uid=$(id -u)
count=0
destinations='
'
while IFS= read -r line; do
  case ${line#"${line%%[![:space:]]*}"} in '' | '#'*) continue ;; esac # blank, or a comment
  parse "$line" || die "$origin: not valid, nothing fetched"
  case $destinations in *"
$dest
"*) die "two outputs write $dest" ;; esac
  destinations="$destinations$dest
"
  if [ -n "$owner" ] && [ "$uid" != 0 ] && [ "$owner" != "$uid:$(id -g)" ]; then
    die "owner=$owner for $dest needs root (this runs as uid $uid)"
  fi
  count=$((count + 1))
done <<EOF
$outputs
EOF
[ "$count" -gt 0 ] || die 'VAULT_EDGE_OUTPUTS lists no output'

# Temporary files "TMP DEST" not yet renamed: removed on any exit.
umask 077
staged=
changed=
cleanup() {
  while read -r tmp _; do
    if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi
  done <<EOF
$staged
EOF
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The kubelet rewrites the token file as it rotates it: read it now, once, for every output.
token=$(cat -- "$TOKEN_FILE")
[ -n "$token" ] || die "the token file $TOKEN_FILE is empty"

refresh_after=

# fetch N: the parsed output N into a temporary file next to its destination, staged for the
# rename unless it is unchanged. Fails, with the problem on stderr, on any error.
fetch() {
  dir=$(dirname -- "$dest")
  mkdir -p -- "$dir"
  tmp=$(mktemp "$dir/.vault-edge.XXXXXX")
  staged="$staged$tmp $dest
"
  etag_file=${STATE:+$STATE/etag.$1}
  case $source in
    template:*)
      what="template ${source#template:}"
      # A template renders to text of its own making: no format parameter.
      set -- "$base/v1/render${query:+?$query}" -H 'Content-Type: text/plain; charset=utf-8' --data-binary "@${source#template:}" ;;
    bundle:*)
      what="bundle ${source#bundle:}"
      set -- "$base/v1/bundle?format=$format${query:+&$query}" -H 'Content-Type: application/json' --data-binary "@${source#bundle:}" ;;
    *)
      what=$source
      set -- "$base/v1/secrets/$source?format=$format${query:+&$query}" ;;
  esac
  if [ -n "${VAULT_EDGE_CACERT:-}" ]; then set -- "$@" --cacert "$VAULT_EDGE_CACERT"; fi
  etag=
  if [ -n "$etag_file" ] && [ -s "$etag_file" ] && [ -e "$dest" ]; then etag=$(cat -- "$etag_file"); fi
  # --retry covers timeouts, 408, 429, 500, 502, 503, 504 (honouring Retry-After) and, with
  # --retry-connrefused, a broker that is not listening yet; 4xx answers are final.
  result=$({
    printf 'Authorization: Bearer %s\n' "$token"
    if [ -n "$etag" ]; then printf 'If-None-Match: %s\n' "$etag"; fi
  } | curl --fail-with-body --silent --show-error \
    --connect-timeout 5 --max-time "${VAULT_EDGE_MAX_TIME:-30}" \
    --retry "${VAULT_EDGE_RETRIES:-6}" --retry-connrefused --retry-max-time 120 \
    -H @- -H 'Accept: */*' -o "$tmp" -w '%{http_code}|%header{etag}|%header{x-refresh-after}' "$@") || {
    code=$?
    log "fetching $what failed (curl exit $code, HTTP ${result%%|*})"
    # --fail-with-body kept the error body: problem+json, safe to show (SPEC §2).
    if [ -s "$tmp" ] && head -c 1 -- "$tmp" | grep -q '{'; then
      head -c 2000 -- "$tmp" >&2
      printf '\n' >&2
    fi
    return 1
  }
  # "STATUS|ETAG|X-REFRESH-AFTER", either header possibly empty (POST answers carry no ETag).
  status=${result%%|*} after=${result##*|}
  new_etag=${result#*|}
  new_etag=${new_etag%|*}
  case $after in '' | *[!0-9]*) ;; *) if [ -z "$refresh_after" ] || [ "$after" -lt "$refresh_after" ]; then refresh_after=$after; fi ;; esac
  if [ "$status" = 304 ] || { [ -n "$STATE" ] && [ -e "$dest" ] && cmp -s -- "$tmp" "$dest"; }; then
    rm -f -- "$tmp" # unchanged: the file stays as it is
  else
    chmod "$mode" "$tmp"
    if [ -n "$owner" ]; then chown "$owner" "$tmp"; fi
    changed="$changed$tmp $dest $status $what
"
  fi
  if [ -n "$etag_file" ]; then printf '%s' "$new_etag" >"$etag_file.new"; fi
}

n=0
while IFS= read -r line; do
  case ${line#"${line%%[![:space:]]*}"} in '' | '#'*) continue ;; esac # blank, or a comment
  n=$((n + 1))
  parse "$line"
  fetch "$n" || exit 1
done <<EOF
$outputs
EOF
token=

# Every output fetched: now, and only now, rename them into place.
if [ -n "$STATE" ]; then : >"$STATE/changed.new"; fi
while read -r tmp dest status what; do
  [ -n "$tmp" ] || continue
  mv -f -- "$tmp" "$dest"
  log "wrote $what to $dest (HTTP $status)"
  if [ -n "$STATE" ]; then printf '%s\n' "$dest" >>"$STATE/changed.new"; fi
done <<EOF
$changed
EOF
if [ -n "$STATE" ]; then
  n=0
  while [ "$n" -lt "$count" ]; do
    n=$((n + 1))
    if [ -e "$STATE/etag.$n.new" ]; then mv -f -- "$STATE/etag.$n.new" "$STATE/etag.$n"; fi
  done
  printf '%s' "$refresh_after" >"$STATE/refresh-after"
  mv -f -- "$STATE/changed.new" "$STATE/changed"
fi
