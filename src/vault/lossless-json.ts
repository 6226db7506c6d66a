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

/** JSON.parse that keeps the text of numbers JSON.parse would respell (where the runtime can). */
export function parseJsonKeepingNumbers(text: string): unknown {
  return JSON.parse(text, keepNumberText as (key: string, value: unknown) => unknown)
}
