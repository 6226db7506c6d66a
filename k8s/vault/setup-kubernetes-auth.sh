#!/bin/sh
# Configures Vault or OpenBao for vault-edge with the kubernetes auth method: Vault checks each
# pod token it is given by asking the cluster's API server (TokenReview), instead of verifying
# the signature itself as the jwt method (setup-jwt-auth.sh) does. The broker then logs in with
# `"vaultAuthMethod": "kubernetes"` (per cluster) or `"vault": {"authMethod": "kubernetes"}`.
# Writes the auth method's config, a read policy and a role bound to one ServiceAccount and to
# the broker's audience. Safe to run again: every step is a write of the whole object.
#
# How Vault reaches TokenReview (auth/kubernetes/config):
#   Vault outside the cluster: K8S_HOST (the API server's URL), K8S_CA_FILE (the CA of its
#     certificate: kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d)
#     and K8S_TOKEN_REVIEWER_JWT_FILE, a token of a ServiceAccount bound to system:auth-delegator
#     (k8s/vault/token-reviewer.yaml makes one; its Secret holds a long-lived token:
#       kubectl -n vault-edge get secret vault-token-reviewer -o jsonpath='{.data.token}' | base64 -d).
#     A reviewer token is required here: without one Vault presents the pod's own token to the
#     API server, and a projected token for audience vault-edge is not valid there.
#   Vault inside the cluster: K8S_HOST=https://kubernetes.default.svc and nothing else; Vault
#     uses its own pod's token and CA (its ServiceAccount needs system:auth-delegator too).
#
# Needs the `vault` or `bao` CLI, logged in with a token allowed to manage auth methods and
# policies (VAULT_ADDR/VAULT_TOKEN, or BAO_ADDR/BAO_TOKEN for bao). POSIX sh; no jq.
#
#   K8S_HOST                     the API server URL Vault calls, required
#   K8S_CA_FILE                  PEM CA of the API server's certificate
#   K8S_TOKEN_REVIEWER_JWT_FILE  file holding the reviewer ServiceAccount's token
#   K8S_ISSUER                   optional: the tokens' `iss`, checked by Vault too
#   K8S_NAMESPACE                namespace of the workload, required
#   K8S_SERVICE_ACCOUNT          its ServiceAccount, required
#   VAULT_POLICY_PATHS           space-separated paths the workload may read, required,
#                                  e.g. "secret/data/myapp/*" (KV v2 reads go through data/)
#   KUBERNETES_MOUNT             default kubernetes
#   VAULT_EDGE_AUDIENCE          default vault-edge (the projected token's audience; the role checks it)
#   VAULT_ROLE                   default "$K8S_NAMESPACE-$K8S_SERVICE_ACCOUNT" (the broker rule's
#                                  "{namespace}-{serviceAccount}")
#   VAULT_POLICY                 default: the role's name
#   VAULT_TOKEN_TTL              default 1h (vault-edge caches the Vault token and renews it)
#   VAULT_CLI                    default: vault if installed, else bao
set -eu
set -f # VAULT_POLICY_PATHS holds globs for Vault, not for the shell

log() { printf 'setup-kubernetes-auth: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=vault-setup-common.sh
. "$(dirname -- "$0")/vault-setup-common.sh"

need K8S_HOST
need K8S_NAMESPACE
need K8S_SERVICE_ACCOUNT
need VAULT_POLICY_PATHS

KUBERNETES_MOUNT=${KUBERNETES_MOUNT:-kubernetes}
AUDIENCE=${VAULT_EDGE_AUDIENCE:-vault-edge}
VAULT_ROLE=${VAULT_ROLE:-$K8S_NAMESPACE-$K8S_SERVICE_ACCOUNT}
VAULT_POLICY=${VAULT_POLICY:-$VAULT_ROLE}
VAULT_TOKEN_TTL=${VAULT_TOKEN_TTL:-1h}

check_workload KUBERNETES_MOUNT
matches 'https?://[!-~]+' "$K8S_HOST" || die 'K8S_HOST must be an http(s) URL'
plain K8S_HOST "$K8S_HOST"
if [ -n "${K8S_ISSUER:-}" ]; then
  matches '[!-~]+' "$K8S_ISSUER" || die 'K8S_ISSUER must be printable ASCII without spaces'
  plain K8S_ISSUER "$K8S_ISSUER"
fi
if [ -n "${K8S_CA_FILE:-}" ]; then
  grep -q -- '-----BEGIN CERTIFICATE-----' "$K8S_CA_FILE" 2>/dev/null || die "K8S_CA_FILE $K8S_CA_FILE holds no PEM certificate"
fi
reviewer=
if [ -n "${K8S_TOKEN_REVIEWER_JWT_FILE:-}" ]; then
  [ -r "$K8S_TOKEN_REVIEWER_JWT_FILE" ] || die "cannot read $K8S_TOKEN_REVIEWER_JWT_FILE"
  reviewer=$(tr -d ' \r\n' <"$K8S_TOKEN_REVIEWER_JWT_FILE")
  # A JWT is three base64url parts: nothing to escape in JSON.
  matches '[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+' "$reviewer" || die 'K8S_TOKEN_REVIEWER_JWT_FILE does not hold a JWT'
  case $K8S_HOST in https://*) [ -n "${K8S_CA_FILE:-}" ] || die 'K8S_CA_FILE is needed to verify the API server when Vault runs outside the cluster' ;; esac
fi

# 1. The auth method, unless it is mounted already.
enable_auth "$KUBERNETES_MOUNT" kubernetes

# 2. Where Vault sends TokenReview, and as whom. With a reviewer token Vault must not read
#    the pod files it does not have outside a cluster (disable_local_ca_jwt).
config=$(printf '"kubernetes_host":"%s"' "$K8S_HOST")
if [ -n "${K8S_CA_FILE:-}" ]; then config=$(printf '%s,"kubernetes_ca_cert":"%s"' "$config" "$(json_pem "$K8S_CA_FILE")"); fi
if [ -n "$reviewer" ]; then
  config=$(printf '%s,"token_reviewer_jwt":"%s","disable_local_ca_jwt":true' "$config" "$reviewer")
else
  config="$config,\"disable_local_ca_jwt\":false"
fi
if [ -n "${K8S_ISSUER:-}" ]; then config=$(printf '%s,"issuer":"%s"' "$config" "$K8S_ISSUER"); fi
printf '{%s}' "$config" | "$VAULT_CLI" write "auth/$KUBERNETES_MOUNT/config" - >/dev/null
reviewer=
log "configured auth/$KUBERNETES_MOUNT/config (TokenReview at $K8S_HOST, $([ -n "${K8S_TOKEN_REVIEWER_JWT_FILE:-}" ] && echo 'reviewer token' || echo "Vault's own pod token"))"

# 3. The policy: read on each path.
write_policy

# 4. The role: only this ServiceAccount's tokens, only with the broker's audience. Vault's
#    identity alias is the ServiceAccount's uid (a ServiceAccount deleted and made again under
#    the same name is a new entity).
printf '%s' "{
  \"bound_service_account_names\": [\"$K8S_SERVICE_ACCOUNT\"],
  \"bound_service_account_namespaces\": [\"$K8S_NAMESPACE\"],
  \"audience\": \"$AUDIENCE\",
  \"alias_name_source\": \"serviceaccount_uid\",
  \"token_policies\": [\"$VAULT_POLICY\"],
  \"token_ttl\": \"$VAULT_TOKEN_TTL\"
}" | "$VAULT_CLI" write "auth/$KUBERNETES_MOUNT/role/$VAULT_ROLE" - >/dev/null
log "wrote role $VAULT_ROLE: $K8S_NAMESPACE/$K8S_SERVICE_ACCOUNT, audience $AUDIENCE, policy $VAULT_POLICY"
