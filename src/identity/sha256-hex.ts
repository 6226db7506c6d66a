// SHA-256 (FIPS 180-4) of a string's UTF-8 bytes, as lowercase hex, for the verified-token memo.
// Written here rather than taken from @noble/hashes or node:crypto because it reuses its buffers:
// in Deno each typed array a call allocates is costly (its memory lives outside the JS heap), and
// hashing the token with either library cost a cached read ~10 µs of its ~45 (issue 9, A/B on
// the Deno entry; since the later GC and await cuts, node:crypto measures the same as this there,
// while @noble/hashes is ~1.4× slower in a microbenchmark, 7.5 vs 5.3 µs: this stays the default
// for Deno and Workers). Tested against node:crypto on random strings (test/identity/sha256-hex.test.ts).
import { sha256 } from '@noble/hashes/sha2.js'

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])
const INITIAL = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'))

/** Room for the UTF-8 of a 16 KiB string and its padding; anything longer goes to @noble/hashes. */
const MAX_BYTES = 3 * 16 * 1024
const bytes = new Uint8Array(MAX_BYTES + 72)
/** The same memory, made once: a subarray per call would be one more typed array each time. */
const encodeTarget = bytes.subarray(0, MAX_BYTES)
const view = new DataView(bytes.buffer)
const words = new Int32Array(64)
const state = new Int32Array(8)
const encoder = new TextEncoder()

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n))

function compress(offset: number): void {
  for (let i = 0; i < 16; i++) words[i] = view.getInt32(offset + 4 * i)
  for (let i = 16; i < 64; i++) {
    const w15 = words[i - 15]!
    const w2 = words[i - 2]!
    const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3)
    const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10)
    words[i] = (words[i - 16]! + s0 + words[i - 7]! + s1) | 0
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!
  for (let i = 0; i < 64; i++) {
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + words[i]!) | 0
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  state[0] = (state[0]! + a) | 0
  state[1] = (state[1]! + b) | 0
  state[2] = (state[2]! + c) | 0
  state[3] = (state[3]! + d) | 0
  state[4] = (state[4]! + e) | 0
  state[5] = (state[5]! + f) | 0
  state[6] = (state[6]! + g) | 0
  state[7] = (state[7]! + h) | 0
}

export function sha256Hex(text: string): string {
  const { read, written } = encoder.encodeInto(text, encodeTarget)
  if (read < text.length) return hexOf(sha256(encoder.encode(text)))
  // Padding: 0x80, zeros, then the length in bits as a 64-bit big-endian number.
  const blocks = Math.ceil((written + 9) / 64)
  const end = blocks * 64
  bytes[written] = 0x80
  bytes.fill(0, written + 1, end - 8)
  const bits = written * 8
  bytes[end - 8] = 0
  bytes[end - 7] = 0
  bytes[end - 6] = 0
  bytes[end - 5] = Math.floor(bits / 2 ** 32) & 0xff
  bytes[end - 4] = (bits >>> 24) & 0xff
  bytes[end - 3] = (bits >>> 16) & 0xff
  bytes[end - 2] = (bits >>> 8) & 0xff
  bytes[end - 1] = bits & 0xff
  state.set(INITIAL)
  for (let offset = 0; offset < end; offset += 64) compress(offset)
  let hex = ''
  for (let i = 0; i < 8; i++) {
    const word = state[i]!
    hex += HEX[(word >>> 24) & 0xff]! + HEX[(word >>> 16) & 0xff]! + HEX[(word >>> 8) & 0xff]! + HEX[word & 0xff]!
  }
  return hex
}

function hexOf(digest: Uint8Array): string {
  let hex = ''
  for (const byte of digest) hex += HEX[byte]!
  return hex
}
