// Reads the PEM files a TLS client fetch needs (Node and Deno): every unreadable file is named
// with the setting that pointed at it, in one ConfigError, at start-up rather than at the first
// request.
import { ConfigError } from '../config.ts'
import type { TlsFile, TlsFiles } from '../transport/transport-settings.ts'

export interface TlsPem {
  ca?: string
  cert?: string
  key?: string
  serverName?: string
}

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----/

export function readTlsFiles(files: TlsFiles, readFile: (path: string) => string): TlsPem {
  const issues: string[] = []
  const read = (file: TlsFile | undefined) => {
    if (file === undefined) return undefined
    let text: string
    try {
      text = readFile(file.path)
    } catch (error) {
      issues.push(`${file.setting}: cannot read ${file.path} (${(error as { code?: string }).code ?? (error as Error).name})`)
      return undefined
    }
    if (!PEM_BLOCK.test(text)) issues.push(`${file.setting}: ${file.path} holds no PEM block`)
    return text
  }
  const pem = { ca: read(files.caCert), cert: read(files.clientCert), key: read(files.clientKey), serverName: files.serverName }
  if (issues.length > 0) throw new ConfigError(issues)
  return pem
}
