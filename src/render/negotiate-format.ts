// Which format a secret read answers in: `?format=` wins; otherwise the Accept header
// (RFC 9110 §12.5.1); otherwise json (SPEC §2). See docs/rendering.md, "Choosing a format".
import { badRequest } from '../errors.ts'

export const FORMATS = ['env', 'dotenv', 'json', 'yaml', 'raw'] as const
export type Format = (typeof FORMATS)[number]

export const DEFAULT_FORMAT: Format = 'json'

const FORMAT_BY_MEDIA_TYPE: Record<string, Format> = {
  'application/json': 'json',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'text/x-yaml': 'yaml',
  'text/x-shellscript': 'env',
  'application/x-sh': 'env',
  // Plain text most often means "something I can source".
  'text/plain': 'env',
  'text/*': 'env',
  'application/octet-stream': 'raw',
  'application/*': 'json',
  '*/*': 'json',
}

const isFormat = (value: string): value is Format => (FORMATS as readonly string[]).includes(value)

export function negotiateFormat(formatParam: string | undefined, acceptHeader: string | undefined): Format {
  if (formatParam !== undefined) {
    if (isFormat(formatParam)) return formatParam
    const shown = JSON.stringify(formatParam.slice(0, 40))
    throw badRequest(`Unknown format ${shown}; use one of ${FORMATS.join(', ')}.`, 'unknown_format')
  }
  return acceptHeader === undefined ? DEFAULT_FORMAT : formatFromAccept(acceptHeader)
}

interface MediaRange {
  type: string
  q: number
  specificity: number
  order: number
}

/**
 * The acceptable media range we can serve with the highest q; among equal q the more specific
 * (`text/plain` before `text/*` before `*\/*`), then the one listed first. Nothing we serve → json,
 * rather than a 406 for browsers and `curl -H 'Accept: text/html'`.
 */
function formatFromAccept(header: string): Format {
  const ranges = header
    .split(',')
    .map((part, order) => parseMediaRange(part, order))
    .filter((range): range is MediaRange => range !== undefined && range.q > 0 && range.type in FORMAT_BY_MEDIA_TYPE)
    .sort((a, b) => b.q - a.q || b.specificity - a.specificity || a.order - b.order)
  const best = ranges[0]
  return best === undefined ? DEFAULT_FORMAT : FORMAT_BY_MEDIA_TYPE[best.type]!
}

function parseMediaRange(part: string, order: number): MediaRange | undefined {
  const [rawType, ...params] = part.split(';')
  const type = rawType?.trim().toLowerCase() ?? ''
  if (!/^[^/\s]+\/[^/\s]+$/.test(type)) return undefined
  let q = 1
  for (const param of params) {
    const [name, value] = param.split('=').map((s) => s.trim())
    if (name?.toLowerCase() === 'q') q = value !== undefined && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : 0
  }
  const specificity = type === '*/*' ? 0 : type.endsWith('/*') ? 1 : 2
  return { type, q, specificity, order }
}
