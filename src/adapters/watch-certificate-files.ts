// Serves renewed certificates without a restart: cert-manager (or anything else) replaces the
// files, and the next poll hands the new pair to the server. Polling, not fs.watch: a Secret
// volume swaps a symlink (`..data`), which inotify on the files themselves does not see.
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
  /** Starts serving `pair`; throws when the pair is unusable (the old one stays). */
  use(pair: CertificatePair): void
  log: Logger
  /** Node: unref the timer so it never holds the process. */
  unref?(timer: ReturnType<typeof setInterval>): void
}

export function readCertificatePair(certFile: string, keyFile: string, readFile: (path: string) => string): CertificatePair {
  return { cert: readFile(certFile), key: readFile(keyFile) }
}

/** Returns the function that stops watching. `current` is the pair being served now. */
export function watchCertificateFiles(current: CertificatePair, options: WatchCertificateOptions): () => void {
  let served = current
  let refused: CertificatePair | undefined
  const same = (a: CertificatePair | undefined, b: CertificatePair) => a !== undefined && a.cert === b.cert && a.key === b.key
  const timer = setInterval(() => {
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
      options.use(next)
      served = next
      refused = undefined
      options.log.log('info', 'TLS certificate reloaded', { certFile: options.certFile })
    } catch (error) {
      refused = next
      options.log.log('warn', 'new TLS certificate files not usable (key does not match, or not PEM); still serving the previous certificate', {
        error: (error as { code?: string }).code ?? (error as Error).name,
      })
    }
  }, options.reloadIntervalMs)
  options.unref?.(timer)
  return () => clearInterval(timer)
}
