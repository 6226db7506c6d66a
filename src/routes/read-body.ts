// JSON request bodies, bounded (413) and validated with zod (400 naming the fields).
import type { Context } from 'hono'
import type { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { AppError, badRequest } from '../errors.ts'

export const MAX_BODY_BYTES = 64 * 1024
/**
 * Vault's own listener refuses JSON nested deeper than this (`max_json_depth`, default 500), and
 * JSON.stringify, which the Vault client runs on an issuing body, overflows the stack far deeper.
 */
export const MAX_JSON_DEPTH = 500

/**
 * The body as text, read no further than MAX_BODY_BYTES: a chunked body has no Content-Length
 * to refuse early, and reading it whole first would let one request fill the broker's memory.
 */
export async function readText(c: Context<AppEnv>): Promise<string> {
  const declared = Number(c.req.header('Content-Length') ?? '0')
  if (declared > MAX_BODY_BYTES) throw tooLarge()
  const body = c.req.raw.body
  if (body === null) return ''
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {})
      throw tooLarge()
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  // As Request.text() decodes: UTF-8, invalid sequences replaced, a leading BOM dropped.
  return new TextDecoder().decode(bytes)
}

export async function readJson<T>(c: Context<AppEnv>, schema: z.ZodType<T>): Promise<T> {
  const text = await readText(c)
  let raw: unknown
  let protoKey = false
  try {
    // zod's records drop a `__proto__` member without a word; refuse it instead of losing it.
    raw = JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') protoKey = true
      return value
    })
  } catch {
    throw badRequest('The request body is not valid JSON.', 'invalid_body')
  }
  if (protoKey) throw badRequest('The request body has a member named __proto__, which is not allowed.', 'invalid_body')
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw badRequest(`The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`, 'invalid_body')
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)')
    throw badRequest(`Invalid request body: ${[...new Set(fields)].join(', ')}.`, 'invalid_body')
  }
  return parsed.data
}

/** The deepest nesting of arrays and objects in valid JSON text, without recursion. */
function jsonDepth(json: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let index = 0; index < json.length; index++) {
    const char = json[index]
    if (inString) {
      if (char === '\\') index++
      else if (char === '"') inString = false
    } else if (char === '"') inString = true
    else if (char === '{' || char === '[') deepest = Math.max(deepest, ++depth)
    else if (char === '}' || char === ']') depth--
  }
  return deepest
}

const tooLarge = () => new AppError(413, 'too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`)
