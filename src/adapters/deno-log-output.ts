// The Deno entry's log lines written straight to stdout/stderr with Deno's synchronous write:
// console.log formats its arguments (inspect) on the way, which cost ~4 % of a cached read's CPU
// on Deno (issue 9 profile). Each line is written whole when it is logged, so a request's audit
// line has left before its answer is sent, as with console.log.
import type { LogOutput } from '../logger.ts'

export interface SyncWriter {
  writeSync(bytes: Uint8Array): number
}

const encoder = new TextEncoder()

/** A pipe may take part of a write; the rest follows until the line is whole. */
function writeAllSync(file: SyncWriter, text: string): void {
  let bytes = encoder.encode(text)
  while (bytes.byteLength > 0) bytes = bytes.subarray(file.writeSync(bytes))
}

export function createSyncLogOutput(stdout: SyncWriter, stderr: SyncWriter): LogOutput {
  return {
    out: (line) => writeAllSync(stdout, `${line}\n`),
    err: (line) => writeAllSync(stderr, `${line}\n`),
  }
}
