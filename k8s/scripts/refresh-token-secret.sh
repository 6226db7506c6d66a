#!/bin/sh
# Keeps a Secret filled with a fresh, bounded ServiceAccount token for vault-edge, for
# clients that can only send a static header: External Secrets Operator's webhook provider
# (k8s/migration/eso/). Run it from a CronJob more often than the token lives.
#
# It asks the API server for a token (TokenRequest: POST .../serviceaccounts/NAME/token,
# audience vault-edge, expirationSeconds) and merge-patches it into the Secret's stringData.
# Needs RBAC `create` on serviceaccounts/token and `patch` on that one Secret (see
# k8s/migration/eso/token-refresher.yaml). POSIX sh + curl; never prints a token.
#
#   TOKEN_SERVICE_ACCOUNT     ServiceAccount the token is for (default vault-edge-eso)
#   TOKEN_SECRET              Secret to write (default vault-edge-eso-token), key TOKEN_SECRET_KEY (default token)
#   TOKEN_NAMESPACE           default: this pod's namespace
#   TOKEN_AUDIENCE            default vault-edge
#   TOKEN_EXPIRATION_SECONDS  default 86400 (keep it at or below the broker's maxTokenAgeSeconds)
#   KUBERNETES_API            default https://kubernetes.default.svc
#   KUBE_SA_DIR               this pod's own API credentials (default /var/run/secrets/kubernetes.io/serviceaccount)
set -eu

SA_DIR=${KUBE_SA_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
API=${KUBERNETES_API:-https://kubernetes.default.svc}
SERVICE_ACCOUNT=${TOKEN_SERVICE_ACCOUNT:-vault-edge-eso}
SECRET=${TOKEN_SECRET:-vault-edge-eso-token}
KEY=${TOKEN_SECRET_KEY:-token}
AUDIENCE=${TOKEN_AUDIENCE:-vault-edge}
EXPIRATION=${TOKEN_EXPIRATION_SECONDS:-86400}

log() { printf 'refresh-token-secret: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

NAMESPACE=${TOKEN_NAMESPACE:-$(cat "$SA_DIR/namespace" 2>/dev/null || true)}
[ -n "$NAMESPACE" ] || die 'TOKEN_NAMESPACE is not set and no namespace file in KUBE_SA_DIR'
[ -r "$SA_DIR/token" ] || die "no API token at $SA_DIR/token"
# Names go into URLs and JSON: Kubernetes object names only.
for value in "$NAMESPACE" "$SERVICE_ACCOUNT" "$SECRET" "$KEY" "$AUDIENCE"; do
  case $value in '' | *[!A-Za-z0-9._-]*) die "not a valid name: $value" ;; esac
done
case $EXPIRATION in '' | *[!0-9]*) die 'TOKEN_EXPIRATION_SECONDS must be a number' ;; esac

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/refresh-token.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
# The pod's own API token goes to curl in a header file (0600, removed on exit), not in argv.
printf 'Authorization: Bearer %s\n' "$(cat -- "$SA_DIR/token")" >"$work/auth"
set -- --fail-with-body --silent --show-error --connect-timeout 5 --max-time 30 --retry 3 -H "@$work/auth"
if [ -r "$SA_DIR/ca.crt" ]; then set -- "$@" --cacert "$SA_DIR/ca.crt"; fi

# TokenRequest (authentication.k8s.io/v1). Not bound to a pod: it lives its full lifetime.
if ! curl "$@" -X POST -H 'Content-Type: application/json' -o "$work/response" \
  --data-binary "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{\"audiences\":[\"$AUDIENCE\"],\"expirationSeconds\":$EXPIRATION}}" \
  "$API/api/v1/namespaces/$NAMESPACE/serviceaccounts/$SERVICE_ACCOUNT/token"; then
  # The API server's Status object says why (it holds no token).
  if [ -s "$work/response" ]; then head -c 2000 -- "$work/response" >&2; printf '\n' >&2; fi
  die "TokenRequest for $NAMESPACE/$SERVICE_ACCOUNT failed"
fi
# A JWT has no quotes or backslashes, so a plain match is enough (no jq in curl images).
token=$(tr -d '\n' <"$work/response" | sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
[ -n "$token" ] || die 'the TokenRequest response has no status.token'

# Merge patch: stringData replaces the one key and leaves labels and other keys alone.
if ! printf '{"stringData":{"%s":"%s"}}' "$KEY" "$token" | curl "$@" -X PATCH \
  -H 'Content-Type: application/merge-patch+json' -o /dev/null --data-binary @- \
  "$API/api/v1/namespaces/$NAMESPACE/secrets/$SECRET"; then
  die "patching Secret $NAMESPACE/$SECRET failed"
fi
token=
log "wrote a ${EXPIRATION}s token for $NAMESPACE/$SERVICE_ACCOUNT (audience $AUDIENCE) to Secret $SECRET"
