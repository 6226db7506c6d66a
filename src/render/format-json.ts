// format=json: the key/value map as Vault stores it, structure kept (SPEC §6). Compact, so
// External Secrets' webhook provider and `jq` get one document, plus a final newline for terminals.

export function formatJson(data: Record<string, unknown>): string {
  return `${JSON.stringify(data)}\n`
}
