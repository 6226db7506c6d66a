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
need() { eval "[ -n \"\${$1:-}\" ]" || die "$1 is not set"; }

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

if [ -z "${VAULT_CLI:-}" ]; then
  if command -v vault >/dev/null 2>&1; then VAULT_CLI=vault
  elif command -v bao >/dev/null 2>&1; then VAULT_CLI=bao
  else die 'neither vault nor bao is installed (or set VAULT_CLI)'
  fi
fi

# Everything below ends up inside JSON or HCL strings: accept only what Kubernetes and
# Vault accept, so no value needs escaping (and none can inject anything). All checked
# before the first write.
NL='
'
matches() {
  case $2 in *"$NL"*) return 1 ;; esac
  printf '%s\n' "$2" | grep -Eq "^($1)\$"
}
plain() { case $2 in *'"'* | *\\*) die "$1 must not contain quotes or backslashes" ;; esac; }
matches '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?' "$K8S_NAMESPACE" || die 'K8S_NAMESPACE is not a Kubernetes namespace name'
matches '[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?' "$K8S_SERVICE_ACCOUNT" || die 'K8S_SERVICE_ACCOUNT is not a ServiceAccount name'
matches '[A-Za-z0-9_.-]+' "$VAULT_ROLE" || die 'VAULT_ROLE may only hold letters, digits, _ . -'
matches '[A-Za-z0-9_.-]+' "$VAULT_POLICY" || die 'VAULT_POLICY may only hold letters, digits, _ . -'
matches '[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*' "$JWT_MOUNT" || die 'JWT_MOUNT is not a mount path'
matches '[!-~]+' "$AUDIENCE" || die 'VAULT_EDGE_AUDIENCE must be printable ASCII without spaces'
plain VAULT_EDGE_AUDIENCE "$AUDIENCE"
matches '[0-9]+[smhd]?' "$VAULT_TOKEN_TTL" || die 'VAULT_TOKEN_TTL must be a duration like 1h'
matches 'https?://[!-~]+' "$K8S_ISSUER" || die 'K8S_ISSUER must be an http(s) URL'
plain K8S_ISSUER "$K8S_ISSUER"
for path in $VAULT_POLICY_PATHS; do
  matches '[A-Za-z0-9_.*+/-]+' "$path" || die "VAULT_POLICY_PATHS: $path is not a Vault path"
done

# A PEM file as the body of a JSON string (newlines as \n).
json_pem() { awk 'BEGIN { ORS = "" } { sub(/\r$/, ""); print $0 "\\n" }' "$1"; }

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
if "$VAULT_CLI" auth list -format=json | grep -q "\"$JWT_MOUNT/\""; then
  log "auth method at $JWT_MOUNT/ exists"
else
  "$VAULT_CLI" auth enable -path="$JWT_MOUNT" jwt >/dev/null
  log "enabled the jwt auth method at $JWT_MOUNT/"
fi

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
policy=''
for path in $VAULT_POLICY_PATHS; do
  policy="${policy}path \"$path\" {
  capabilities = [\"read\"]
}
"
done
printf '%s' "$policy" | "$VAULT_CLI" policy write "$VAULT_POLICY" - >/dev/null
log "wrote policy $VAULT_POLICY"

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
