// Vault decodes secrets with json.Number (Go) and sends numbers back with the text they were
// written with: `-0`, `1.0`, `1e3`, 12345678901234567890. JSON.parse would turn them into 0, 1,
// 1000 and 12345678901234567000, and every format would print them differently from Vault Agent.
// So a number whose text JSON.stringify would change is kept as JSON.rawJSON(text) (TC39 "JSON.parse
// source text access": V8 11.4+, i.e. Node 21+, Deno, workerd), which JSON.stringify writes back
// verbatim and src/render prints as its text. Other numbers stay plain numbers.

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown

const rawJson = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON

const keepNumberText: Reviver = (_key, value, context) =>
  typeof value === 'number' && context?.source !== undefined && rawJson && context.source !== JSON.stringify(value) ? rawJson(context.source) : value

/**
 * A number JSON.stringify could respell: a JSON number follows the start of the text, `:`, `[` or
 * `,` (and whitespace) and ends before `,`, `}`, `]`, whitespace or the end, and it keeps its text
 * only when it has no fraction, no exponent, is not -0 and has at most 15 digits (every such
 * integer is exact in a double). Text inside strings can match too (it only costs the slow path);
 * the end delimiter keeps timestamps such as "…T11:57:03.123Z" (KV v2 metadata) from matching.
 */
const MAY_HOLD_RESPELLED_NUMBER = /(?:^|[:[,])\s*(?:-0|-?\d+[.eE]|-?\d{16})[\d.eE+-]*\s*(?:[,}\]]|$)/

/**
 * JSON.parse that keeps the text of numbers JSON.parse would respell (where the runtime can).
 * Most Vault answers (a login, a KV read of strings) hold no such number: those skip the reviver,
 * which V8 calls for every value with its source text (issue 9 profile of a miss: ~3 % of the CPU).
 */
export function parseJsonKeepingNumbers(text: string): unknown {
  if (!MAY_HOLD_RESPELLED_NUMBER.test(text)) return JSON.parse(text)
  return JSON.parse(text, keepNumberText as (key: string, value: unknown) => unknown)
}
