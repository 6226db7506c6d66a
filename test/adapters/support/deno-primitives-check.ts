// Run by deno-entry-fast-path.test.ts under Deno: the Deno entry's fast primitives against the
// portable ones on Deno itself (the unit tests run them under Node). Prints one JSON line.
import { createFastRs256Verify } from '../../../src/adapters/deno-rs256-verify.ts'
import { nodeSha256Hex } from '../../../src/adapters/node-symmetric-crypto.ts'
import { sha256Hex } from '../../../src/identity/sha256-hex.ts'

const RS256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
const fastVerify = createFastRs256Verify(crypto.subtle)
const result = { verifyMismatches: 0, accepted: 0, refused: 0, digestMismatches: 0, digests: 0 }

for (const modulusLength of [2048, 3072]) {
  const pair = await crypto.subtle.generateKey({ ...RS256, modulusLength, publicExponent: new Uint8Array([1, 0, 1]) }, true, ['sign', 'verify'])
  // As jose's JWKS imports a cluster key.
  const publicKey = await crypto.subtle.importKey('jwk', await crypto.subtle.exportKey('jwk', pair.publicKey), RS256, true, ['verify'])
  for (let i = 0; i < 20; i++) {
    const data = crypto.getRandomValues(new Uint8Array(1 + i * 97))
    const signature = new Uint8Array(await crypto.subtle.sign(RS256, pair.privateKey, data))
    const tampered = signature.slice()
    tampered[i * 7]! ^= 1 << (i % 8)
    const otherData = data.slice()
    otherData[0]! ^= 1
    for (const [sig, signed] of [[signature, data], [tampered, data], [signature, otherData]] as const) {
      const [fast, runtime] = await Promise.all([fastVerify(RS256, publicKey, sig, signed), crypto.subtle.verify(RS256, publicKey, sig, signed)])
      if (fast !== runtime) result.verifyMismatches++
      if (fast) result.accepted++
      else result.refused++
    }
  }
}

for (const text of ['', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', 'ü€𝄞 token', 'x'.repeat(5000), crypto.randomUUID()]) {
  result.digests++
  if (nodeSha256Hex(text) !== sha256Hex(text)) result.digestMismatches++
}
console.log(JSON.stringify(result))
