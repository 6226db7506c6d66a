// Serves renewed certificates without a restart: cert-manager (or anything else) replaces the
// files, and the next poll hands the new pair to the server. Polling, not fs.watch: a Secret
// volume swaps a symlink (`..data`), which inotify on the files themselves does not see.
import { ConfigError } from '../config.ts'
import type { Logger } from '../logger.ts'

export interface CertificatePair {
  cert: string
  key: string
}

export interface WatchCertificateOptions {
  certFile: string
  keyFile: string
  reloadIntervalMs: number
  readFile(path: string): string
  /** Starts serving `pair`; throws (or rejects) when the pair is unusable (the old one stays). */
  use(pair: CertificatePair): void | Promise<void>
  log: Logger
  /** Node: unref the timer so it never holds the process. */
  unref?(timer: ReturnType<typeof setInterval>): void
}

/** Throws ConfigError naming TLS_CERT_FILE / TLS_KEY_FILE and the path it cannot read. */
export function readCertificatePair(certFile: string, keyFile: string, readFile: (path: string) => string): CertificatePair {
  const issues: string[] = []
  const read = (setting: string, path: string) => {
    try {
      return readFile(path)
    } catch (error) {
      issues.push(`${setting}: cannot read ${path} (${(error as { code?: string }).code ?? (error as Error).name})`)
      return ''
    }
  }
  const pair = { cert: read('TLS_CERT_FILE', certFile), key: read('TLS_KEY_FILE', keyFile) }
  if (issues.length > 0) throw new ConfigError(issues)
  return pair
}

export const UNUSABLE_PAIR = 'TLS_CERT_FILE and TLS_KEY_FILE: not a PEM certificate and the private key that belongs to it'

/** Returns the function that stops watching. `current` is the pair being served now. */
export function watchCertificateFiles(current: CertificatePair, options: WatchCertificateOptions): () => void {
  let served = current
  let refused: CertificatePair | undefined
  let busy = false
  const same = (a: CertificatePair | undefined, b: CertificatePair) => a !== undefined && a.cert === b.cert && a.key === b.key
  const poll = async () => {
    let next: CertificatePair
    try {
      next = readCertificatePair(options.certFile, options.keyFile, options.readFile)
    } catch (error) {
      options.log.log('warn', 'TLS certificate files unreadable; still serving the previous certificate', { error: (error as { code?: string }).code ?? (error as Error).name })
      return
    }
    // A renewal replaces the two files one after the other: a new certificate read with the old
    // key is refused here and used at the next poll, once both are new.
    if (same(served, next) || same(refused, next)) return
    try {
      await options.use(next)
      served = next
      refused = undefined
      options.log.log('info', 'TLS certificate reloaded', { certFile: options.certFile })
    } catch (error) {
      refused = next
      options.log.log('warn', 'new TLS certificate files not usable (key does not match, or not PEM); still serving the previous certificate', {
        error: (error as { code?: string }).code ?? (error as Error).name,
      })
    }
  }
  const timer = setInterval(() => {
    // A swap still in progress (Deno rebinding its listener) is not started twice.
    if (busy) return
    busy = true
    void poll().finally(() => (busy = false))
  }, options.reloadIntervalMs)
  options.unref?.(timer)
  return () => clearInterval(timer)
}
