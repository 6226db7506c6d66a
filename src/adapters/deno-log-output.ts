// The Deno entry's log lines written straight to stdout/stderr with Deno's synchronous write:
// console.log formats its arguments on the way and cost ~2x as much per audit line (~15 µs
// against ~8 µs here, issue 9). Each line is written whole when it is logged, so a request's audit
// line has left before its answer is sent, as with console.log. (Batching the lines of concurrent
// requests into one write, as the Node entry does, saved nothing: Deno.serve answers one request
// per event-loop turn, so each answer flushed one line anyway.)
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
