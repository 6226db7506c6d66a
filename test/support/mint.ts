/**
 * Client for the cluster issuer's test-only endpoints, usable from any test process
 * (and any runtime with fetch): the issuer itself runs in vitest's globalSetup.
 */
import type { IssuerAlgorithm, IssuerStats, MintOptions } from './cluster-issuer.ts'

export type { MintOptions } from './cluster-issuer.ts'

async function call<T>(url: string, method: 'GET' | 'POST', body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text}`)
  return JSON.parse(text) as T
}

const base = (issuerUrl: string) => issuerUrl.replace(/\/+$/, '')

/** A ServiceAccount token minted by the cluster issuer at `issuerUrl`. */
export async function mintToken(issuerUrl: string, options: MintOptions = {}): Promise<string> {
  const { token } = await call<{ token: string }>(`${base(issuerUrl)}/mint`, 'POST', options)
  return token
}

export async function issuerStats(issuerUrl: string): Promise<IssuerStats & { kid: string; down: boolean }> {
  return await call(`${base(issuerUrl)}/_test/stats`, 'GET')
}

/** While down, the issuer's discovery and JWKS endpoints answer 503. */
export async function setIssuerDown(issuerUrl: string, down: boolean): Promise<void> {
  await call(`${base(issuerUrl)}/_test/down`, 'POST', { down })
}

export async function setIssuerDelay(issuerUrl: string, ms: number): Promise<void> {
  await call(`${base(issuerUrl)}/_test/delay`, 'POST', { ms })
}

/** New signing key; returns its kid. */
export async function rotateIssuerKey(
  issuerUrl: string,
  options: { keepPrevious?: boolean; algorithm?: IssuerAlgorithm } = {},
): Promise<string> {
  const { kid } = await call<{ kid: string }>(`${base(issuerUrl)}/_test/rotate`, 'POST', options)
  return kid
}

/** New uid for the ServiceAccount: its earlier tokens stop passing TokenReview. */
export async function recreateServiceAccount(issuerUrl: string, namespace: string, name: string): Promise<string> {
  const { uid } = await call<{ uid: string }>(`${base(issuerUrl)}/_test/recreate-serviceaccount`, 'POST', {
    namespace,
    name,
  })
  return uid
}

/** Decodes a compact JWS's header and payload without verifying it (test assertions only). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.')
  const decode = (part: string | undefined) => {
    const b64 = (part ?? '').replace(/-/g, '+').replace(/_/g, '/')
    const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0))
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
  }
  return { header: decode(h), payload: decode(p) }
}
