# Shared by setup-jwt-auth.sh and setup-kubernetes-auth.sh (sourced, not run): the CLI, input
# checks and the steps both auth methods take. POSIX sh. Expects `log` and `die` defined.

need() { eval "[ -n \"\${$1:-}\" ]" || die "$1 is not set"; }

if [ -z "${VAULT_CLI:-}" ]; then
  if command -v vault >/dev/null 2>&1; then VAULT_CLI=vault
  elif command -v bao >/dev/null 2>&1; then VAULT_CLI=bao
  else die 'neither vault nor bao is installed (or set VAULT_CLI)'
  fi
fi

# Everything the scripts write ends up inside JSON or HCL strings: accept only what Kubernetes
# and Vault accept, so no value needs escaping (and none can inject anything). All checked
# before the first write.
NL='
'
matches() {
  case $2 in *"$NL"*) return 1 ;; esac
  printf '%s\n' "$2" | grep -Eq "^($1)\$"
}
plain() { case $2 in *'"'* | *\\*) die "$1 must not contain quotes or backslashes" ;; esac; }

# check_workload MOUNT_VARIABLE: the settings every role needs (namespace, ServiceAccount,
# role, policy, audience, TTL, paths and the mount).
check_workload() {
  matches '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?' "$K8S_NAMESPACE" || die 'K8S_NAMESPACE is not a Kubernetes namespace name'
  matches '[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?' "$K8S_SERVICE_ACCOUNT" || die 'K8S_SERVICE_ACCOUNT is not a ServiceAccount name'
  matches '[A-Za-z0-9_.-]+' "$VAULT_ROLE" || die 'VAULT_ROLE may only hold letters, digits, _ . -'
  matches '[A-Za-z0-9_.-]+' "$VAULT_POLICY" || die 'VAULT_POLICY may only hold letters, digits, _ . -'
  eval "mount=\$$1"
  matches '[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*' "$mount" || die "$1 is not a mount path"
  matches '[!-~]+' "$AUDIENCE" || die 'VAULT_EDGE_AUDIENCE must be printable ASCII without spaces'
  plain VAULT_EDGE_AUDIENCE "$AUDIENCE"
  matches '[0-9]+[smhd]?' "$VAULT_TOKEN_TTL" || die 'VAULT_TOKEN_TTL must be a duration like 1h'
  for path in $VAULT_POLICY_PATHS; do
    matches '[A-Za-z0-9_.*+/-]+' "$path" || die "VAULT_POLICY_PATHS: $path is not a Vault path"
  done
}

# A PEM file as the body of a JSON string (newlines as \n).
json_pem() { awk 'BEGIN { ORS = "" } { sub(/\r$/, ""); print $0 "\\n" }' "$1"; }

# enable_auth MOUNT TYPE: the auth method, unless it is mounted already.
enable_auth() {
  if "$VAULT_CLI" auth list -format=json | grep -q "\"$1/\""; then
    log "auth method at $1/ exists"
  else
    "$VAULT_CLI" auth enable -path="$1" "$2" >/dev/null
    log "enabled the $2 auth method at $1/"
  fi
}

# write_policy: read on each of VAULT_POLICY_PATHS, as policy VAULT_POLICY.
write_policy() {
  policy=''
  for path in $VAULT_POLICY_PATHS; do
    policy="${policy}path \"$path\" {
  capabilities = [\"read\"]
}
"
  done
  printf '%s' "$policy" | "$VAULT_CLI" policy write "$VAULT_POLICY" - >/dev/null
  log "wrote policy $VAULT_POLICY"
}
