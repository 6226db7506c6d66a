// format=yaml: the key/value map, structure kept (SPEC §6). Written so that YAML 1.2 readers
// (the `yaml` package, Go's yaml.v3) and YAML 1.1 readers (PyYAML, Go's yaml.v2) read the same
// strings back: plain scalars are avoided wherever the two schemas disagree (`yes`, `on`,
// `0o17`, `1_000` are strings in one and not the other), so every string value is double-quoted
// (JSON escapes, valid in both), except multi-line text, which is a literal block (`|`) for
// certificates and keys to stay readable. Block scalars are never typed implicitly.
import { Document, Scalar, parse, visit } from 'yaml'

// Keys stay plain only when they are identifiers that both schemas read back as the same string
// (not `y`, `No`, `ON`, `null`, nor float-like `e0`).
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const YAML_1_1_WORDS = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null'])

export function formatYaml(data: Record<string, unknown>): string {
  const document = new Document(data)
  visit(document, {
    Scalar(key, node) {
      if (typeof node.value === 'string') node.type = key === 'key' ? keyStyle(node.value) : valueStyle(node.value)
    },
  })
  return document.toString({ lineWidth: 0, doubleQuotedAsJSON: true })
}

function keyStyle(key: string): Scalar.Type {
  const plainSafe =
    IDENTIFIER.test(key) && !YAML_1_1_WORDS.has(key.toLowerCase()) && parse(key, { version: '1.1' }) === key && parse(key, { version: '1.2' }) === key
  return plainSafe ? Scalar.PLAIN : Scalar.QUOTE_DOUBLE
}

function valueStyle(value: string): Scalar.Type {
  // The `yaml` package falls back to double quotes by itself when a block cannot hold the text
  // (control characters, trailing spaces on the last line).
  return value.includes('\n') ? Scalar.BLOCK_LITERAL : Scalar.QUOTE_DOUBLE
}
