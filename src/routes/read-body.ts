// JSON request bodies, bounded (413) and validated with zod (400 naming the fields).
import type { Context } from 'hono'
import type { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { AppError, badRequest } from '../errors.ts'

export const MAX_BODY_BYTES = 64 * 1024

export async function readText(c: Context<AppEnv>): Promise<string> {
  const declared = Number(c.req.header('Content-Length') ?? '0')
  if (declared > MAX_BODY_BYTES) throw tooLarge()
  const text = await c.req.text()
  if (new TextEncoder().encode(text).byteLength > MAX_BODY_BYTES) throw tooLarge()
  return text
}

export async function readJson<T>(c: Context<AppEnv>, schema: z.ZodType<T>): Promise<T> {
  const text = await readText(c)
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw badRequest('The request body is not valid JSON.', 'invalid_body')
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)')
    throw badRequest(`Invalid request body: ${[...new Set(fields)].join(', ')}.`, 'invalid_body')
  }
  return parsed.data
}

const tooLarge = () => new AppError(413, 'too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`)
