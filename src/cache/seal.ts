// All cache crypto lives here (STYLE: one place for key derivation). From CACHE_ENCRYPTION_KEY
// we derive, with HKDF-SHA-256, an HMAC key for Redis key names and an AES-256-GCM key for
// values. Each write uses a fresh random 12-byte IV and binds the value to its Redis key as
// additional data, so a value copied under another key does not decrypt.

const IV_BYTES = 12
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface Sealer {
  /** Hex HMAC-SHA-256 of the key material: nothing readable reaches Redis. */
  keyFor(material: string): Promise<string>
  /** `plaintext` as a string, or already UTF-8 encoded (the cache measures it first). */
  seal(key: string, plaintext: string | Uint8Array<ArrayBuffer>): Promise<string>
  /** Returns null for anything that does not authenticate (tampered, other key, other name). */
  open(key: string, sealed: string): Promise<string | null>
  /** Keyed digest for ETags: a plain hash of a short secret could be brute-forced offline. */
  fingerprint(data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer>
  /**
   * Keyed, truncated digest (32 hex digits) that names something outside the cache without
   * revealing it: lease ids in audit lines, client addresses and identities in rate-limit keys.
   */
  pseudonymFor(purpose: 'lease' | 'rate-limit', material: string): Promise<string>
}

function decodeKey(text: string): Uint8Array<ArrayBuffer> {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Uint8Array.from(text.match(/../g)!.map((byte) => parseInt(byte, 16)))
  const base64 = text.replaceAll('-', '+').replaceAll('_', '/')
  return Uint8Array.from(atob(base64.padEnd(44, '=')), (char) => char.charCodeAt(0))
}

// Native base64 where the runtime has it (TC39 Uint8Array base64: workerd, Deno; Node 22 lacks
// it). Otherwise btoa/atob in chunks: spreading a whole value into String.fromCharCode overflows
// the stack past ~125 KB, and a per-character callback is what the issue 9 profile found slow.
const nativeBase64 = Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array<ArrayBuffer> }
const BASE64_CHUNK_BYTES = 0x8000

export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as unknown as { toBase64?: () => string }).toBase64
  if (native) return native.call(bytes)
  let binary = ''
  for (let start = 0; start < bytes.length; start += BASE64_CHUNK_BYTES) {
    binary += String.fromCharCode.apply(null, bytes.subarray(start, start + BASE64_CHUNK_BYTES) as unknown as number[])
  }
  return btoa(binary)
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (nativeBase64.fromBase64) return nativeBase64.fromBase64(text)
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index)
  return bytes
}

/** The four keys HKDF derives from CACHE_ENCRYPTION_KEY, as raw bytes (32 each). */
export interface SealKeys {
  name: Uint8Array<ArrayBuffer>
  etag: Uint8Array<ArrayBuffer>
  value: Uint8Array<ArrayBuffer>
  pseudonym: Uint8Array<ArrayBuffer>
}

/**
 * The symmetric work behind a sealer: HMAC-SHA-256 and AES-256-GCM (ciphertext followed by its
 * 16-byte tag, as WebCrypto writes it). WebCrypto by default; the Node entry gives node:crypto,
 * whose synchronous calls skip the ~50 µs threadpool dispatch every crypto.subtle call pays on
 * Node (NOTES.md; issue 9: half of a miss's CPU). Both give the same bytes for the same keys.
 */
export interface SymmetricCrypto {
  hmac(key: 'name' | 'etag' | 'pseudonym', data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>
  /**
   * The runtime's own base64, where it lacks Uint8Array's (Node 22): the fallback below copies
   * every byte into a string first (issue 9: ~¼ of what a miss allocates on Node).
   */
  base64?: { encode(bytes: Uint8Array<ArrayBuffer>): string; decode(text: string): Uint8Array<ArrayBuffer> }
  encrypt(iv: Uint8Array<ArrayBuffer>, additionalData: Uint8Array<ArrayBuffer>, plaintext: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>
  /** Throws when it does not authenticate. */
  decrypt(iv: Uint8Array<ArrayBuffer>, additionalData: Uint8Array<ArrayBuffer>, sealed: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>
}

export type SymmetricCryptoFactory = (keys: SealKeys) => Promise<SymmetricCrypto>

export const webCryptoSymmetric: SymmetricCryptoFactory = async (keys) => {
  const hmacKey = (raw: Uint8Array<ArrayBuffer>) => crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const hmacKeys = { name: await hmacKey(keys.name), etag: await hmacKey(keys.etag), pseudonym: await hmacKey(keys.pseudonym) }
  const valueKey = await crypto.subtle.importKey('raw', keys.value, 'AES-GCM', false, ['encrypt', 'decrypt'])
  return {
    hmac: async (key, data) => new Uint8Array(await crypto.subtle.sign('HMAC', hmacKeys[key], data)),
    encrypt: async (iv, additionalData, plaintext) => new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, valueKey, plaintext)),
    decrypt: async (iv, additionalData, sealed) => new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData }, valueKey, sealed)),
  }
}

const toHex = (bytes: Uint8Array) => {
  let hex = ''
  for (const byte of bytes) hex += (byte < 16 ? '0' : '') + byte.toString(16)
  return hex
}

/**
 * `encryptionKey` undefined: a random key for this process only (the in-memory store's case).
 * The derived keys are the same bytes whatever `symmetric` does, so a Worker and a Node broker
 * sharing one Redis name and open each other's entries.
 */
export async function createSealer(encryptionKey: string | undefined, symmetric: SymmetricCryptoFactory = webCryptoSymmetric): Promise<Sealer> {
  const master = encryptionKey ? decodeKey(encryptionKey) : crypto.getRandomValues(new Uint8Array(32))
  const hkdf = await crypto.subtle.importKey('raw', master, 'HKDF', false, ['deriveBits'])
  // HKDF-SHA-256 output of 256 bits: the bytes deriveKey gave an HMAC or AES-256 key before.
  const derive = async (info: string) =>
    new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: encoder.encode(`vault-edge ${info}`) }, hkdf, 256))
  const ops = await symmetric({
    name: await derive('cache key names v1'),
    etag: await derive('etags v1'),
    value: await derive('cache values v1'),
    pseudonym: await derive('pseudonyms v1'),
  })

  const encodeBase64 = ops.base64?.encode ?? toBase64
  const decodeBase64 = ops.base64?.decode ?? fromBase64

  return {
    async keyFor(material) {
      return toHex(await ops.hmac('name', encoder.encode(material)))
    },
    async seal(key, plaintext) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
      const ciphertext = await ops.encrypt(iv, encoder.encode(key), typeof plaintext === 'string' ? encoder.encode(plaintext) : plaintext)
      const sealed = new Uint8Array(IV_BYTES + ciphertext.byteLength)
      sealed.set(iv)
      sealed.set(ciphertext, IV_BYTES)
      return encodeBase64(sealed)
    },
    async fingerprint(data) {
      const digest = await ops.hmac('etag', data)
      return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength)
    },
    async pseudonymFor(purpose, material) {
      return toHex(await ops.hmac('pseudonym', encoder.encode(`${purpose}\n${material}`))).slice(0, 32)
    },
    async open(key, sealed) {
      try {
        const bytes = decodeBase64(sealed)
        const plaintext = await ops.decrypt(bytes.subarray(0, IV_BYTES), encoder.encode(key), bytes.subarray(IV_BYTES))
        return decoder.decode(plaintext)
      } catch {
        return null
      }
    },
  }
}
