// Where the Deno entry's log lines go: stdout and stderr through Deno's synchronous write
// (console.log formats its arguments on the way and cost ~2x as much per audit line, issue 9).
// The entry does not write each line as it is logged: it collects the lines of one event-loop
// turn and writes them together (logger.ts createBatchedOutput, flushed by node:timers'
// setImmediate, which Deno runs after the turn's I/O callbacks, so under load one write carries
// several requests' lines), and each answer waits until its own lines are out. One write per line
// cost a cached read ~15 µs of its ~60 (A/B: 15,700 → 20,800 req/s batched).
export interface SyncWriter {
  writeSync(bytes: Uint8Array): number
}

const encoder = new TextEncoder()

/** A pipe may take part of a write; the rest follows until the text is whole. */
function writeAllSync(file: SyncWriter, text: string): void {
  let bytes = encoder.encode(text)
  while (bytes.byteLength > 0) bytes = bytes.subarray(file.writeSync(bytes))
}

/** The writes createBatchedOutput makes: each text whole, to its stream, at once. */
export function createSyncWrites(stdout: SyncWriter, stderr: SyncWriter): { out(text: string): void; err(text: string): void; flushAtExit(fd: 1 | 2, text: string): void } {
  const out = (text: string) => writeAllSync(stdout, text)
  const err = (text: string) => writeAllSync(stderr, text)
  return { out, err, flushAtExit: (fd, text) => (fd === 1 ? out(text) : err(text)) }
}
