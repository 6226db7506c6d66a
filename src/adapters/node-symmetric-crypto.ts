// The cache's HMAC, AES-256-GCM and base64 through node:crypto and Buffer (also in Deno), for src/cache/seal.ts:
// synchronous calls, where every crypto.subtle call on Node pays ~50 µs of threadpool dispatch
// (NOTES.md; issue 9 profile of a miss). Same bytes as WebCrypto: ciphertext then the 16-byte tag.
import * as nodeCrypto from 'node:crypto'
import { createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey } from 'node:crypto'
import type { SymmetricCryptoFactory } from '../cache/seal.ts'

const TAG_BYTES = 16

const own = (buffer: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength)

export const nodeSymmetricCrypto: SymmetricCryptoFactory = async (keys) => {
  const hmacKeys = { name: createSecretKey(keys.name), etag: createSecretKey(keys.etag), pseudonym: createSecretKey(keys.pseudonym) }
  const valueKey = createSecretKey(keys.value)
  return {
    hmac: async (key, data) => own(createHmac('sha256', hmacKeys[key]).update(data).digest()),
    // Node 22 has no Uint8Array.prototype.toBase64; Buffer's is native. Its decoder skips
    // characters outside the alphabet where atob throws, so a stray one still opens the same
    // bytes; those are authenticated by AES-GCM all the same (test/cache/seal-node-crypto.test.ts).
    base64: {
      encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
      decode: (text) => own(Buffer.from(text, 'base64')),
    },
    async encrypt(iv, additionalData, plaintext) {
      const cipher = createCipheriv('aes-256-gcm', valueKey, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(additionalData)
      return own(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]))
    },
    async decrypt(iv, additionalData, sealed) {
      if (sealed.byteLength < TAG_BYTES) throw new Error('sealed value too short')
      const decipher = createDecipheriv('aes-256-gcm', valueKey, iv, { authTagLength: TAG_BYTES })
      decipher.setAAD(additionalData)
      decipher.setAuthTag(sealed.subarray(sealed.byteLength - TAG_BYTES))
      return own(Buffer.concat([decipher.update(sealed.subarray(0, sealed.byteLength - TAG_BYTES)), decipher.final()]))
    },
  }
}

/**
 * Hex SHA-256 for the verified-token memo (src/identity/verified-token-memo.ts), synchronous.
 * node:crypto's one-shot `hash` (Node ≥ 21.7) skips the Hash object that createHash builds
 * (issue 9 profile: ~3 % of a cached read on Node); runtimes without it get createHash.
 */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash
export const nodeSha256Hex = oneShotHash
  ? (token: string): string => oneShotHash('sha256', token, 'hex')
  : (token: string): string => createHash('sha256').update(token).digest('hex')
