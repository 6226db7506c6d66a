#!/bin/sh
# vault-edge fetch: the init-container step. Presents the pod's projected ServiceAccount
# token to vault-edge and writes the rendered secret to a file (by default the `env` format,
# for the app container to source: `. /vault/secrets/env && exec app`).
#
# POSIX sh: runs under dash, busybox ash, bash and zsh (sh mode). Needs curl >= 7.76
# (--fail-with-body). Never prints the token or a secret value: the token reaches curl on
# stdin (not in argv, where `ps` would show it) and only problem+json bodies (RFC 9457,
# which carry a code and a request id, never a value) are copied to stderr.
#
# What to fetch (exactly one):
#   VAULT_EDGE_SECRET_PATH    a Vault logical path: GET /v1/secrets/{path}, e.g. secret/data/myapp/config
#   VAULT_EDGE_BUNDLE_FILE    a JSON request body for POST /v1/bundle (several paths, key mappings)
#   VAULT_EDGE_TEMPLATE_FILE  a Vault Agent template for POST /v1/render
# Settings:
#   VAULT_EDGE_URL            base URL of the broker (required), e.g. https://vault-edge.example.com
#   VAULT_EDGE_TOKEN_FILE     default /var/run/secrets/vault-edge/token (the projected volume)
#   VAULT_EDGE_OUTPUT         default /vault/secrets/env
#   VAULT_EDGE_FORMAT         env (default) | dotenv | json | yaml | raw
#   VAULT_EDGE_QUERY          extra query parameters, e.g. prefix=DB_ or key=password
#   VAULT_EDGE_CACERT         CA bundle to verify the broker with (default: system CAs)
#   VAULT_EDGE_RETRIES        curl --retry (default 6: transient errors, 408, 429, 5xx, refused connections)
#   VAULT_EDGE_MAX_TIME       seconds per attempt (default 30)
set -eu

TOKEN_FILE=${VAULT_EDGE_TOKEN_FILE:-/var/run/secrets/vault-edge/token}
OUTPUT=${VAULT_EDGE_OUTPUT:-/vault/secrets/env}
FORMAT=${VAULT_EDGE_FORMAT:-env}
QUERY=${VAULT_EDGE_QUERY:-}

log() { printf 'vault-edge-fetch: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -n "${VAULT_EDGE_URL:-}" ] || die 'VAULT_EDGE_URL is not set'
[ -r "$TOKEN_FILE" ] || die "no readable ServiceAccount token at $TOKEN_FILE (is the projected volume mounted?)"

case $FORMAT in
  env | dotenv | json | yaml | raw) ;;
  *) die "VAULT_EDGE_FORMAT must be env, dotenv, json, yaml or raw" ;;
esac
query="format=$FORMAT${QUERY:+&$QUERY}"
base=${VAULT_EDGE_URL%/}

chosen=0
if [ -n "${VAULT_EDGE_SECRET_PATH:-}" ]; then chosen=$((chosen + 1)); fi
if [ -n "${VAULT_EDGE_BUNDLE_FILE:-}" ]; then chosen=$((chosen + 1)); fi
if [ -n "${VAULT_EDGE_TEMPLATE_FILE:-}" ]; then chosen=$((chosen + 1)); fi
[ "$chosen" -eq 1 ] || die 'set exactly one of VAULT_EDGE_SECRET_PATH, VAULT_EDGE_BUNDLE_FILE, VAULT_EDGE_TEMPLATE_FILE'

if [ -n "${VAULT_EDGE_SECRET_PATH:-}" ]; then
  what=${VAULT_EDGE_SECRET_PATH#/}
  set -- "$base/v1/secrets/$what?$query"
elif [ -n "${VAULT_EDGE_BUNDLE_FILE:-}" ]; then
  what="bundle $VAULT_EDGE_BUNDLE_FILE"
  [ -r "$VAULT_EDGE_BUNDLE_FILE" ] || die "cannot read $VAULT_EDGE_BUNDLE_FILE"
  set -- "$base/v1/bundle?$query" -H 'Content-Type: application/json' --data-binary "@$VAULT_EDGE_BUNDLE_FILE"
else
  what="template $VAULT_EDGE_TEMPLATE_FILE"
  [ -r "$VAULT_EDGE_TEMPLATE_FILE" ] || die "cannot read $VAULT_EDGE_TEMPLATE_FILE"
  # A template renders to text of its own making: no format parameter.
  set -- "$base/v1/render${QUERY:+?$QUERY}" -H 'Content-Type: text/plain; charset=utf-8' --data-binary "@$VAULT_EDGE_TEMPLATE_FILE"
fi
if [ -n "${VAULT_EDGE_CACERT:-}" ]; then set -- "$@" --cacert "$VAULT_EDGE_CACERT"; fi

# Files only this user can read; the temporary file sits next to the output so the final
# rename is atomic (the app never sees half a file).
umask 077
dir=$(dirname -- "$OUTPUT")
mkdir -p -- "$dir"
tmp=$(mktemp "$dir/.vault-edge.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The kubelet rewrites the token file as it rotates it: read it now, not at start-up.
token=$(cat -- "$TOKEN_FILE")
[ -n "$token" ] || die "the token file $TOKEN_FILE is empty"

# --retry covers timeouts, 408, 429, 500, 502, 503, 504 (honouring Retry-After) and, with
# --retry-connrefused, a broker that is not listening yet; 4xx answers are final.
status=$(printf 'Authorization: Bearer %s\n' "$token" | curl --fail-with-body --silent --show-error \
  --connect-timeout 5 --max-time "${VAULT_EDGE_MAX_TIME:-30}" \
  --retry "${VAULT_EDGE_RETRIES:-6}" --retry-connrefused --retry-max-time 120 \
  -H @- -H 'Accept: */*' -o "$tmp" -w '%{http_code}' "$@") || {
  code=$?
  log "fetching $what failed (curl exit $code, HTTP ${status:-none})"
  # --fail-with-body kept the error body: problem+json, safe to show (SPEC §2).
  if [ -s "$tmp" ] && head -c 1 -- "$tmp" | grep -q '{'; then
    head -c 2000 -- "$tmp" >&2
    printf '\n' >&2
  fi
  exit 1
}
unset token

mv -f -- "$tmp" "$OUTPUT"
log "wrote $what to $OUTPUT (HTTP $status)"
