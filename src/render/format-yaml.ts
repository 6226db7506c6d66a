// format=yaml: the key/value map, structure kept (SPEC §6), written so that YAML 1.1 readers
// (PyYAML, Go's yaml.v2) and YAML 1.2 readers (the `yaml` package, Go's yaml.v3) read back the
// same values. Written by hand rather than with the `yaml` package's stringifier because these
// guarantees depend on the exact bytes:
// - every string is double-quoted (plain scalars such as `yes`, `on`, `0o17` or `1_000` are
//   strings in one version and not the other), with escapes both versions know (yaml-escapes.ts):
//   C0 and C1 controls, DEL, NEL, U+2028/2029, the BOM and noncharacters are escaped — raw, PyYAML
//   refuses the whole document, and NEL/LS/PS are line breaks in YAML 1.1;
// - multi-line text (certificates, keys) is a literal block `|` when every line survives one:
//   an indentation indicator when its first line starts with a space (else the space is read as
//   indentation), the chomping indicator from its trailing newlines, and double quotes otherwise;
// - numbers keep Vault's spelling (`-0`, `1.0`, big integers); exponents get the dot and sign
//   YAML 1.1 needs to read them as numbers (`1e3` → `1.0e+3`).
import { parse } from 'yaml'
import { escapeYamlDoubleQuoted, isYamlBlockSafe } from './yaml-escapes.ts'

// Keys stay plain only when both schemas read them back as the same string (not `y`, `No`,
// `ON`, `null`, nor number-like text).
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/
const YAML_1_1_WORDS = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null'])
const INDENT = '  '

export function formatYaml(data: Record<string, unknown>): string {
  const lines: string[] = []
  if (Object.keys(data).length === 0) return '{}\n'
  writeMap(lines, data, '')
  return `${lines.join('\n')}\n`
}

function writeMap(lines: string[], map: Record<string, unknown>, indent: string): void {
  for (const [key, value] of Object.entries(map)) writeEntry(lines, `${indent}${formatKey(key)}:`, value, indent)
}

/** `head` is `key:` or `-`; nested collections go on the following lines, one level deeper. */
function writeEntry(lines: string[], head: string, value: unknown, indent: string): void {
  const nested = indent + INDENT
  if (Array.isArray(value)) {
    if (value.length === 0) return void lines.push(`${head} []`)
    lines.push(head)
    for (const item of value) writeEntry(lines, `${nested}-`, item, nested)
    return
  }
  if (isPlainObject(value)) {
    if (Object.keys(value).length === 0) return void lines.push(`${head} {}`)
    lines.push(head)
    writeMap(lines, value, nested)
    return
  }
  if (typeof value === 'string' && isYamlBlockSafe(value)) return writeLiteralBlock(lines, head, value, nested)
  lines.push(`${head} ${formatScalar(value)}`)
}

/** A literal block scalar: `|`, `|-` or `|+` with an indentation indicator when needed. */
function writeLiteralBlock(lines: string[], head: string, value: string, indent: string): void {
  const trailing = /\n*$/.exec(value)![0].length
  const chomping = trailing === 0 ? '-' : trailing === 1 ? '' : '+'
  const body = trailing === 0 ? value : value.slice(0, -1)
  const contentLines = body.split('\n')
  const firstContent = contentLines.find((line) => line !== '') ?? ''
  // Without it, a leading space would be taken for indentation and lost.
  const indicator = firstContent.startsWith(' ') ? String(INDENT.length) : ''
  lines.push(`${head} |${indicator}${chomping}`)
  for (const line of contentLines) lines.push(line === '' ? '' : indent + line)
}

function formatKey(key: string): string {
  // The parse checks catch what the pattern lets through, such as `e0` (a float to `yaml`'s 1.1 schema).
  const plain = PLAIN_KEY.test(key) && !YAML_1_1_WORDS.has(key.toLowerCase()) && parse(key, { version: '1.1' }) === key && parse(key, { version: '1.2' }) === key
  return plain ? key : `"${escapeYamlDoubleQuoted(key)}"`
}

function formatScalar(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return `"${escapeYamlDoubleQuoted(value)}"`
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'number') return yamlNumber(JSON.stringify(value))
  if (isRawJsonNumber(value)) return yamlNumber(value.rawJSON)
  return `"${escapeYamlDoubleQuoted(JSON.stringify(value))}"`
}

/**
 * Vault's number text, readable as the same number in YAML 1.1 and 1.2: YAML 1.1 floats need a
 * dot in the mantissa and a signed exponent, so `1e3` is written `1.0e+3` and `2E-5` `2.0E-5`.
 */
function yamlNumber(text: string): string {
  const exponent = /^(-?[0-9]+)(\.[0-9]+)?([eE])([+-]?)([0-9]+)$/.exec(text)
  if (!exponent) return text
  const [, whole, fraction, e, sign, digits] = exponent
  return `${whole}${fraction ?? '.0'}${e}${sign || '+'}${digits}`
}

const isRawJsonNumber = (value: unknown): value is { rawJSON: string } =>
  typeof value === 'object' && value !== null && typeof (value as { rawJSON?: unknown }).rawJSON === 'string' && Object.keys(value).length === 1

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !isRawJsonNumber(value)
