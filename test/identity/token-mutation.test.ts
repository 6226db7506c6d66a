// Property: a valid token with any byte changed, inserted, removed or moved is refused with the
// generic 401 — never accepted, never another error. Positions lean towards the ends of segments:
// with lenient base64url decoding a changed *last* signature character can decode to the same
// signature and be accepted (src/identity/decode-base64url-strict.ts), and a uniform position would rarely hit it.
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createNodeSignatureVerifier } from '../../src/adapters/node-signature-verifier.ts'
import { parseConfig, type ClusterConfig } from '../../src/config.ts'
import { AppError } from '../../src/errors.ts'
import { createClusterKeys, type ClusterKeys } from '../../src/identity/cluster-keys.ts'
import { verifyServiceAccountToken } from '../../src/identity/verify-service-account-token.ts'
import { createLabSigner, createTestCache, projectedClaims, type LabSigner } from './token-lab.ts'

const ISSUER = 'https://oidc.example/id/mutation'
const BASE64URL_AND_SEPARATORS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ '

/** Where in the token: anywhere, or a few characters before the end of a segment. */
type Position = { anchor: 'anywhere' | 'header-end' | 'payload-end' | 'token-end'; offset: number }

type Mutation =
  | { kind: 'replace'; at: Position; char: string }
  | { kind: 'insert'; at: Position; char: string }
  | { kind: 'delete'; at: Position }
  | { kind: 'swap'; at: Position }
  | { kind: 'truncate'; at: Position }

// Mostly characters that keep the token plausible (so mutants get past the cheap checks and reach
// the signature), some arbitrary bytes.
const mutantChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BASE64URL_AND_SEPARATORS) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code)) },
)
const position: fc.Arbitrary<Position> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ anchor: fc.constant('anywhere' as const), offset: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ anchor: fc.constantFrom('header-end' as const, 'payload-end' as const, 'token-end' as const), offset: fc.nat(3) }) },
)
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: position, char: mutantChar }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: position, char: mutantChar }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: position }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('swap' as const), at: position }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: position }) },
)

function offsetIn(token: string, { anchor, offset }: Position): number {
  if (anchor === 'anywhere') return offset % (token.length + 1)
  const firstDot = token.indexOf('.')
  const end = anchor === 'header-end' ? firstDot : anchor === 'payload-end' ? token.indexOf('.', firstDot + 1) : token.length
  return Math.max(0, (end === -1 ? token.length : end) - 1 - offset)
}

function mutate(token: string, change: Mutation): string {
  const at = offsetIn(token, change.at)
  const index = Math.min(at, token.length - 1)
  switch (change.kind) {
    case 'replace':
      return token.slice(0, index) + change.char + token.slice(index + 1)
    case 'insert':
      return token.slice(0, at) + change.char + token.slice(at)
    case 'delete':
      return token.slice(0, index) + token.slice(index + 1)
    case 'swap':
      return index + 1 < token.length ? token.slice(0, index) + token[index + 1] + token[index] + token.slice(index + 2) : token
    case 'truncate':
      return token.slice(0, at)
  }
}

describe.each(['RS256', 'ES256'] as const)('a %s token, mutated', (alg) => {
  let signer: LabSigner
  let clusters: ClusterConfig[]
  let keys: ClusterKeys
  let valid: string
  const nowMs = Date.now()

  beforeAll(async () => {
    signer = await createLabSigner(alg)
    clusters = parseConfig(
      JSON.stringify({
        clusters: [{ name: 'mutation', issuer: ISSUER, audiences: ['vault-edge'], jwks: { keys: [signer.jwk] } }],
        vault: { address: 'https://vault.example:8200' },
        rules: [{ role: 'any', paths: ['*'] }],
      }),
    ).clusters
    keys = createClusterKeys(async () => new Response(null, { status: 500 }), await createTestCache())
    valid = await signer.sign({ alg, kid: signer.kid }, projectedClaims({ issuer: ISSUER, nowSeconds: Math.floor(nowMs / 1000) }))
  })

  const verify = (token: string) => verifyServiceAccountToken(token, { clusters, keys, now: () => nowMs })
  // The Node entry's node:crypto signature check must refuse each mutant for the same reason.
  const nodeSignatures = createNodeSignatureVerifier()
  const verifyOnNode = (token: string) => verifyServiceAccountToken(token, { clusters, keys, now: () => nowMs, verifySignature: nodeSignatures })
  const sameOnNode = async (token: string, outcome: unknown) => {
    const onNode = await verifyOnNode(token).then(() => 'accepted', (error: unknown) => error)
    expect((onNode as AppError).logReason).toBe((outcome as AppError).logReason)
  }

  it('verifies unmutated', async () => {
    expect((await verify(valid)).serviceAccount).toBe('api')
    expect(await verifyOnNode(valid)).toEqual(await verify(valid))
  })

  it('is refused with a 401 after any one change to its bytes', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (change) => {
        const mutant = mutate(valid, change)
        fc.pre(mutant !== valid)
        const outcome = await verify(mutant).then(
          () => 'accepted',
          (error: unknown) => error,
        )
        expect(outcome).toBeInstanceOf(AppError)
        expect((outcome as AppError).status).toBe(401)
        await sameOnNode(mutant, outcome)
      }),
      { numRuns: 1500 },
    )
  })

  it('is refused after several changes at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 2, maxLength: 6 }), async (changes) => {
        const mutant = changes.reduce(mutate, valid)
        fc.pre(mutant !== valid)
        const outcome = await verify(mutant).then(
          () => 'accepted',
          (error: unknown) => error,
        )
        expect((outcome as AppError).status).toBe(401)
        await sameOnNode(mutant, outcome)
      }),
      { numRuns: 500 },
    )
  })
})
