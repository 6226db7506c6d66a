#!/bin/sh
# Configures Vault or OpenBao for vault-edge: the jwt auth method trusting the cluster's
# ServiceAccount issuer, a read policy, and a role bound to one ServiceAccount and to the
# broker's audience. vault-edge logs in with the pod's own token, so this role is what
# decides which pod reads what (SPEC §1, §4). Safe to run again: every step is a write
# of the whole object.
#
# Needs the `vault` or `bao` CLI, logged in with a token allowed to manage auth methods and
# policies (VAULT_ADDR/VAULT_TOKEN, or BAO_ADDR/BAO_TOKEN for bao). POSIX sh; no jq.
#
#   K8S_ISSUER           the cluster's service-account issuer (`iss` of its tokens), required:
#                          kubectl get --raw /.well-known/openid-configuration   # "issuer"
#   K8S_NAMESPACE        namespace of the workload, required
#   K8S_SERVICE_ACCOUNT  its ServiceAccount, required
#   VAULT_POLICY_PATHS   space-separated paths the workload may read, required,
#                          e.g. "secret/data/myapp/*" (KV v2 reads go through data/)
#   K8S_JWKS_MODE        how Vault gets the cluster's keys:
#                          discovery (default)  oidc_discovery_url = K8S_ISSUER (the issuer must be
#                                               reachable from Vault; see k8s/rbac/)
#                          jwks_url             jwks_url = K8S_JWKS_URL
#                          pubkeys              jwt_validation_pubkeys from K8S_PUBKEYS_FILE (PEM), for
#                                               issuers Vault cannot reach:
#                            kubectl get --raw /openid/v1/jwks | node k8s/vault/jwks-to-pem.mjs > keys.pem
#                                               (re-run after the cluster rotates its signing key)
#   K8S_JWKS_URL         default "$K8S_ISSUER/openid/v1/jwks"
#   K8S_PUBKEYS_FILE     PEM file with one or more public keys (pubkeys mode)
#   K8S_CA_FILE          CA that signs the issuer's / JWKS endpoint's TLS certificate (optional)
#   JWT_MOUNT            default jwt
#   VAULT_EDGE_AUDIENCE  default vault-edge (the projected token's audience)
#   VAULT_ROLE           default "$K8S_NAMESPACE-$K8S_SERVICE_ACCOUNT" (the broker rule's
#                          "{namespace}-{serviceAccount}")
#   VAULT_POLICY         default: the role's name
#   VAULT_TOKEN_TTL      default 1h (vault-edge caches the Vault token and renews it)
#   VAULT_CLI            default: vault if installed, else bao
set -eu
set -f # VAULT_POLICY_PATHS holds globs for Vault, not for the shell

log() { printf 'setup-jwt-auth: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=vault-setup-common.sh
. "$(dirname -- "$0")/vault-setup-common.sh"

need K8S_ISSUER
need K8S_NAMESPACE
need K8S_SERVICE_ACCOUNT
need VAULT_POLICY_PATHS

JWT_MOUNT=${JWT_MOUNT:-jwt}
K8S_JWKS_MODE=${K8S_JWKS_MODE:-discovery}
AUDIENCE=${VAULT_EDGE_AUDIENCE:-vault-edge}
VAULT_ROLE=${VAULT_ROLE:-$K8S_NAMESPACE-$K8S_SERVICE_ACCOUNT}
VAULT_POLICY=${VAULT_POLICY:-$VAULT_ROLE}
VAULT_TOKEN_TTL=${VAULT_TOKEN_TTL:-1h}

check_workload JWT_MOUNT
matches 'https?://[!-~]+' "$K8S_ISSUER" || die 'K8S_ISSUER must be an http(s) URL'
plain K8S_ISSUER "$K8S_ISSUER"

# Every PEM block of a file as a JSON array of strings.
json_pem_list() {
  awk 'BEGIN { ORS = ""; n = 0 }
    { sub(/\r$/, "") }
    /^-----BEGIN / { block = ""; inside = 1 }
    inside { block = block $0 "\\n" }
    /^-----END / && inside { printf "%s\"%s\"", (n++ ? "," : ""), block; inside = 0 }
    END { if (n == 0) exit 1 }' "$1"
}

# 1. The auth method, unless it is mounted already.
enable_auth "$JWT_MOUNT" jwt

# 2. Trust the cluster's issuer. kube-apiserver signs with RS256 or ES256/384/512; Vault's
#    default is RS256 only (OpenBao too), so an ECDSA-keyed cluster needs the list.
ca_field() { if [ -n "${K8S_CA_FILE:-}" ]; then printf ',"%s":"%s"' "$1" "$(json_pem "$K8S_CA_FILE")"; fi; }
case $K8S_JWKS_MODE in
  discovery)
    keys=$(printf '"oidc_discovery_url":"%s"%s' "$K8S_ISSUER" "$(ca_field oidc_discovery_ca_pem)")
    ;;
  jwks_url)
    url=${K8S_JWKS_URL:-${K8S_ISSUER%/}/openid/v1/jwks}
    matches 'https?://[!-~]+' "$url" || die 'K8S_JWKS_URL must be an http(s) URL'
    plain K8S_JWKS_URL "$url"
    keys=$(printf '"jwks_url":"%s"%s' "$url" "$(ca_field jwks_ca_pem)")
    ;;
  pubkeys)
    need K8S_PUBKEYS_FILE
    pems=$(json_pem_list "$K8S_PUBKEYS_FILE") || die "no PEM block in $K8S_PUBKEYS_FILE"
    keys=$(printf '"jwt_validation_pubkeys":[%s]' "$pems")
    ;;
  *) die 'K8S_JWKS_MODE must be discovery, jwks_url or pubkeys' ;;
esac
printf '{%s,"bound_issuer":"%s","jwt_supported_algs":["RS256","ES256","ES384","ES512"]}' "$keys" "$K8S_ISSUER" |
  "$VAULT_CLI" write "auth/$JWT_MOUNT/config" - >/dev/null
log "configured auth/$JWT_MOUNT/config ($K8S_JWKS_MODE, issuer $K8S_ISSUER)"

# 3. The policy: read on each path.
write_policy

# 4. The role: only this ServiceAccount's tokens, only with the broker's audience. The
#    nested kubernetes.io claims are JSON pointers (bound_claims_type string: exact match).
printf '%s' "{
  \"role_type\": \"jwt\",
  \"bound_audiences\": [\"$AUDIENCE\"],
  \"user_claim\": \"sub\",
  \"bound_claims_type\": \"string\",
  \"bound_claims\": {
    \"/kubernetes.io/namespace\": \"$K8S_NAMESPACE\",
    \"/kubernetes.io/serviceaccount/name\": \"$K8S_SERVICE_ACCOUNT\"
  },
  \"claim_mappings\": {
    \"/kubernetes.io/namespace\": \"service_account_namespace\",
    \"/kubernetes.io/serviceaccount/name\": \"service_account_name\",
    \"/kubernetes.io/serviceaccount/uid\": \"service_account_uid\",
    \"/kubernetes.io/pod/name\": \"pod_name\"
  },
  \"token_policies\": [\"$VAULT_POLICY\"],
  \"token_ttl\": \"$VAULT_TOKEN_TTL\"
}" | "$VAULT_CLI" write "auth/$JWT_MOUNT/role/$VAULT_ROLE" - >/dev/null
log "wrote role $VAULT_ROLE: $K8S_NAMESPACE/$K8S_SERVICE_ACCOUNT, audience $AUDIENCE, policy $VAULT_POLICY"
