// `pkiCert` in POST /v1/render: each certificate is issued through a path the caller's rule lists
// in issuingPaths (SPEC §7), with the caller's own Vault token, and kept in the encrypted cache
// per ServiceAccount until close to its expiry, so a pod re-rendering its template gets the same
// certificate back instead of a new one per render (Vault Agent keeps it in the destination file).
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { PkiRequest, VaultSecretResponse } from '../render/template/index.ts'
import { validateSecretPath } from '../rules.ts'
import type { SecretRequest } from '../secret-broker.ts'
import { readSecret } from '../vault/read-secret.ts'
import { buildSecretRequest } from './secret-request.ts'

/** A cached certificate is replaced once this share of the lifetime it had when issued has passed. */
export const PKI_CERT_RENEW_FRACTION = 0.9

export interface PlannedCertificate {
  pki: PkiRequest
  request: SecretRequest
}

/** The rules' answer for every request (403 unless an issuingPaths entry allows it), before any Vault call. */
export function planTemplateCertificates(c: Context<AppEnv>, requests: readonly PkiRequest[]): PlannedCertificate[] {
  return requests.map((pki) => ({ pki, request: buildSecretRequest(c, validateSecretPath(pki.path), { method: 'POST' }).request }))
}

export async function issueTemplateCertificates(c: Context<AppEnv>, built: readonly PlannedCertificate[]): Promise<Map<string, VaultSecretResponse>> {
  const { cache, tokens, vault, now } = c.get('services')
  const issued = await Promise.all(
    built.map(async ({ pki, request }) => {
      const { identity } = request
      const parts = ['template-pkiCert', identity.cluster, identity.namespace, identity.serviceAccount, request.role, pki.key]
      const cached = await cache.get<VaultSecretResponse>('secret', parts)
      if (cached) return [pki.key, cached] as const
      const read = await tokens.withToken(request, (token) => readSecret(vault, { token: token.token, path: pki.path, method: 'POST', body: pki.params }))
      const secret = read.secret as VaultSecretResponse
      const expiration = Number((secret.data as { expiration?: unknown } | null)?.expiration)
      const lifetimeSeconds = expiration - now() / 1000
      const ttlSeconds = Math.floor(lifetimeSeconds * PKI_CERT_RENEW_FRACTION)
      if (Number.isFinite(ttlSeconds) && ttlSeconds >= 1) await cache.set('secret', parts, secret, ttlSeconds)
      return [pki.key, secret] as const
    }),
  )
  return new Map(issued)
}
