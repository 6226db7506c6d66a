#!/usr/bin/env node
// Converts a JWKS document (RFC 7517) on stdin into PEM public keys (SPKI) on stdout, for
// Vault's jwt_validation_pubkeys when Vault cannot reach the cluster's issuer:
//   kubectl get --raw /openid/v1/jwks | node k8s/vault/jwks-to-pem.mjs > k8s-sa-keys.pem
// kube-apiserver publishes RSA and EC signing keys (`use: sig`); anything else is skipped.
import { createPublicKey } from 'node:crypto'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
let jwks
try {
  jwks = JSON.parse(Buffer.concat(chunks).toString('utf8'))
} catch {
  console.error('jwks-to-pem: stdin is not JSON (expected the output of kubectl get --raw /openid/v1/jwks)')
  process.exit(1)
}
const keys = Array.isArray(jwks?.keys) ? jwks.keys : []
let written = 0
for (const jwk of keys) {
  if ((jwk.kty !== 'RSA' && jwk.kty !== 'EC') || (jwk.use !== undefined && jwk.use !== 'sig')) continue
  const { kty, n, e, crv, x, y } = jwk
  const pem = createPublicKey({ key: { kty, n, e, crv, x, y }, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
  process.stdout.write(pem)
  written++
}
if (written === 0) {
  console.error('jwks-to-pem: no RSA or EC signing key in the JWKS')
  process.exit(1)
}
console.error(`jwks-to-pem: wrote ${written} public key(s)`)
